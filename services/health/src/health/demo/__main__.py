from health.demo.loader import main

main()
