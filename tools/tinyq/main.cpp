#include <cstdio>
int main() { std::fprintf(stderr, "tinyq: not built yet\n"); return 2; }
