/* libvixml_stdcxx_compat.so — loaded only on systems whose libstdc++ predates GCC 13 (e.g. Debian 12).
 *
 * TorchSharp 0.107's libLibTorchSharp.so was linked against GCC 13's libstdc++ and needs exactly one symbol of version
 * GLIBCXX_3.4.32: std::ios_base_library_init(). GCC 13 added it so that <iostream> users initialise the standard
 * streams through one call; libstdc++ 12 initialises them itself (static ios_base::Init in the library), so a no-op
 * definition is correct there. The build step (Directory.Build.targets, TorchSharpCompat.cs) marks that version
 * requirement weak in the copied libLibTorchSharp.so and adds this library as a NEEDED entry. */
void _ZSt21ios_base_library_initv(void) {}
