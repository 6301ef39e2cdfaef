/* utf8.c: not written yet */
typedef int st__placeholder_utf8;
