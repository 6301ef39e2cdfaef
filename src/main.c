#include <stdio.h>
int main(void) { puts("strata"); return 0; }
