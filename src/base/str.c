/* str.c: not written yet */
typedef int st__placeholder_str;
