from education.demo.loader import main

main()
