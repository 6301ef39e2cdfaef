/*
 * csv.h - an RFC 4180 CSV writer into an st_buf.
 *
 *   st_csv_field(&b, "id", 2, true);
 *   st_csv_field(&b, "title", 5, false);
 *   st_csv_end_row(&b);                       // id,title\r\n
 *
 * A field is quoted when it holds ',', '"', CR or LF, its quotes doubled; anything else
 * is written as it is. The data is kept exact: no guard against spreadsheet formula
 * injection (a leading '=', '+', '-' or '@' is not altered), since that would change
 * values for every other consumer. Rows end with CRLF, as RFC 4180 says.
 * On ST_ELIMIT (the buffer's max) the buffer is left as it was before the call.
 */
#ifndef ST_HTTP_CSV_H
#define ST_HTTP_CSV_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"

/* Append one field of len bytes at s (s may be NULL when len is 0), preceded by a comma
 * unless first. 0 or ST_ELIMIT. */
int st_csv_field(struct st_buf *b, const char *s, size_t len, bool first);

/* The same for a NUL-terminated string (NULL: an empty field). */
int st_csv_field_c(struct st_buf *b, const char *s, bool first);

/* End the row: CRLF. 0 or ST_ELIMIT. */
int st_csv_end_row(struct st_buf *b);

#endif
