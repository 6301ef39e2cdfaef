/* quicklist.c - being written (owner: see docs/adr/0010-kv.md); the lead replaces this line. */
#include "kv/internal.h"
