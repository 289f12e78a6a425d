from registry.demo.loader import main

main()
