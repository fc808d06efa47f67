print("node test runner: not yet")
