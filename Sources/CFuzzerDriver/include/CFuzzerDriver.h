/* libFuzzer's driver entry (compiler-rt FuzzerInterface.h), declared for Swift. SwiftPM gives executables
 * their own `main`, so the fuzz target calls the driver from it instead of linking libFuzzer's main. */
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));
