from ringfence.cli import run_main

run_main()
