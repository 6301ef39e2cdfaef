/*
 * time.c - clocks, sleeping, and RFC 3339 / HTTP date formatting and parsing.
 *
 * Calendar arithmetic is done here rather than with gmtime_r/timegm: those go through the
 * time-zone machinery (and may take a lock), while the logger formats a timestamp on every
 * line. The proleptic Gregorian calendar is handled in closed form by counting from
 * 1 March of year 0: with March first, the leap day is the last day of the year, so month
 * lengths follow a fixed 5-month pattern (31 30 31 30 31) and a 400-year era always holds
 * exactly 146097 days.
 */
#include "base/time.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "base/err.h"

#define MS_PER_DAY 86400000LL
#define DAYS_PER_ERA 146097 /* 400 years: 400 * 365 + 97 leap days */
#define EPOCH_SHIFT 719468  /* days from 0000-03-01 to 1970-01-01 */
/* The 4-digit year field covers 0000-01-01 .. 9999-12-31; see st_time_format_rfc3339. */
#define MIN_DAY (-719528LL) /* 0000-01-01 */
#define END_DAY 2932897LL   /* 10000-01-01 */

static int64_t read_clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts); /* cannot fail for these clock ids */
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t st_time_mono_ns(void)
{
    return read_clock(CLOCK_MONOTONIC);
}
int64_t st_time_mono_ms(void)
{
    return read_clock(CLOCK_MONOTONIC) / 1000000;
}
int64_t st_time_wall_ms(void)
{
    return read_clock(CLOCK_REALTIME) / 1000000;
}

void st_time_sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec left = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
    /* nanosleep stores the time still to sleep when a signal interrupts it. */
    while (nanosleep(&left, &left) == -1 && errno == EINTR)
        ;
}

/* Floor division: C's '/' truncates toward zero, which is wrong for dates before 1970. */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Days since 1970-01-01 of a valid date (month 1..12). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    if (m <= 2)
        y--; /* January and February belong to the previous March-based year */
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;                         /* year of era, 0..399 */
    int mar = m > 2 ? m - 3 : m + 9;                     /* months since March, 0..11 */
    int64_t doy = (153 * mar + 2) / 5 + d - 1;           /* day of the March-based year */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; /* day of era */
    return era * DAYS_PER_ERA + doe - EPOCH_SHIFT;
}

struct civil {
    int64_t year;
    int month, day;
};

/* The inverse of days_from_civil. */
static struct civil civil_from_days(int64_t days)
{
    int64_t z = days + EPOCH_SHIFT;
    int64_t era = floor_div(z, DAYS_PER_ERA);
    int64_t doe = z - era * DAYS_PER_ERA; /* 0..146096 */
    /* Take out the leap days before doe (one per 4 years, none per 100, one per 400) so a
     * plain division by 365 yields the year of the era. */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / (DAYS_PER_ERA - 1)) / 365;
    int64_t doy = doe - (yoe * 365 + yoe / 4 - yoe / 100);
    int mar = (int)((5 * doy + 2) / 153);
    struct civil c;
    c.day = (int)(doy - (153 * mar + 2) / 5 + 1);
    c.month = mar < 10 ? mar + 3 : mar - 9;
    c.year = yoe + era * 400 + (c.month <= 2);
    return c;
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
    static const int len[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 2 && is_leap(y) ? 29 : len[m - 1];
}

/* Write v as exactly `width` decimal digits (v must fit). */
static char *put_digits(char *p, int64_t v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

/* Split wall_ms into a date, the millisecond of the day, and the day number; clamps to
 * what a 4-digit year can show rather than printing a malformed year. */
static struct civil split_ms(int64_t wall_ms, int64_t *ms_of_day, int64_t *day)
{
    /* Split with / and % and then adjust, so no step overflows even for INT64_MIN. */
    int64_t d = wall_ms / MS_PER_DAY, rest = wall_ms % MS_PER_DAY;
    if (rest < 0) {
        rest += MS_PER_DAY;
        d--;
    }
    if (d < MIN_DAY) {
        d = MIN_DAY;
        rest = 0;
    } else if (d >= END_DAY) {
        d = END_DAY - 1;
        rest = MS_PER_DAY - 1;
    }
    *ms_of_day = rest;
    *day = d;
    return civil_from_days(d);
}

size_t st_time_format_rfc3339(int64_t wall_ms, char *buf)
{
    int64_t ms, day;
    struct civil c = split_ms(wall_ms, &ms, &day);
    char *p = buf;
    p = put_digits(p, c.year, 4);
    *p++ = '-';
    p = put_digits(p, c.month, 2);
    *p++ = '-';
    p = put_digits(p, c.day, 2);
    *p++ = 'T';
    p = put_digits(p, ms / 3600000, 2);
    *p++ = ':';
    p = put_digits(p, ms / 60000 % 60, 2);
    *p++ = ':';
    p = put_digits(p, ms / 1000 % 60, 2);
    *p++ = '.';
    p = put_digits(p, ms % 1000, 3);
    *p++ = 'Z';
    *p = '\0';
    return ST_TIME_RFC3339_LEN;
}

size_t st_time_format_http(int64_t wall_ms, char *buf)
{
    static const char wday[7][4] = { "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed" };
    static const char mon[12][4] = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
    };
    int64_t ms, day;
    struct civil c = split_ms(wall_ms, &ms, &day);
    char *p = buf;
    const char *w = wday[day - floor_div(day, 7) * 7]; /* 1970-01-01 was a Thursday */
    for (int i = 0; i < 3; i++)
        *p++ = w[i];
    *p++ = ',';
    *p++ = ' ';
    p = put_digits(p, c.day, 2);
    *p++ = ' ';
    for (int i = 0; i < 3; i++)
        *p++ = mon[c.month - 1][i];
    *p++ = ' ';
    p = put_digits(p, c.year, 4);
    *p++ = ' ';
    p = put_digits(p, ms / 3600000, 2);
    *p++ = ':';
    p = put_digits(p, ms / 60000 % 60, 2);
    *p++ = ':';
    p = put_digits(p, ms / 1000 % 60, 2);
    for (const char *g = " GMT"; *g; g++)
        *p++ = *g;
    *p = '\0';
    return ST_TIME_HTTP_LEN;
}

/* Read exactly `width` digits at *s into *out and advance; false if any is not a digit. */
static bool take_digits(const char **s, int width, int *out)
{
    int v = 0;
    for (int i = 0; i < width; i++) {
        char c = (*s)[i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *s += width;
    *out = v;
    return true;
}

/* Consume the single character c (or its lower-case form when alt is given). */
static bool take_char(const char **s, char c, char alt)
{
    if (**s != c && (alt == 0 || **s != alt))
        return false;
    (*s)++;
    return true;
}

/* ".ddd..." -> milliseconds; digits past the third are dropped (truncation, like the
 * formatter, so a parsed value never lands in the next millisecond). */
static bool take_fraction(const char **s, int *ms)
{
    *ms = 0;
    if (**s != '.')
        return true;
    (*s)++;
    int n = 0;
    while (**s >= '0' && **s <= '9') {
        if (n < 3)
            *ms = *ms * 10 + (**s - '0');
        n++;
        (*s)++;
    }
    for (int i = n; i < 3; i++)
        *ms *= 10;
    return n > 0;
}

/* "Z" or "+hh:mm"/"-hh:mm" -> offset east of UTC in minutes. */
static bool take_offset(const char **s, int *minutes)
{
    int h, m;
    if (take_char(s, 'Z', 'z')) {
        *minutes = 0;
        return true;
    }
    char sign = **s;
    if (sign != '+' && sign != '-')
        return false;
    (*s)++;
    if (!take_digits(s, 2, &h) || !take_char(s, ':', 0) || !take_digits(s, 2, &m))
        return false;
    if (h > 23 || m > 59)
        return false;
    *minutes = (sign == '-' ? -1 : 1) * (h * 60 + m);
    return true;
}

int st_time_parse_rfc3339(const char *s, int64_t *wall_ms)
{
    int y, mo, d, h, mi, sec, ms, off;
    if (!s)
        return ST_EPARSE;
    bool ok = take_digits(&s, 4, &y) && take_char(&s, '-', 0) && take_digits(&s, 2, &mo) && take_char(&s, '-', 0) &&
              take_digits(&s, 2, &d) && take_char(&s, 'T', 't') && take_digits(&s, 2, &h) && take_char(&s, ':', 0) &&
              take_digits(&s, 2, &mi) && take_char(&s, ':', 0) && take_digits(&s, 2, &sec) && take_fraction(&s, &ms) &&
              take_offset(&s, &off) && *s == '\0';
    if (!ok || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return ST_EPARSE;
    if (h > 23 || mi > 59 || sec > 59) /* leap seconds (:60) are not representable */
        return ST_EPARSE;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + sec;
    *wall_ms = (secs - (int64_t)off * 60) * 1000 + ms;
    return 0;
}

static const char *const month_names[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
static const char *const wday_short[7] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
static const char *const wday_long[7] = {
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"
};

/* Consume one of names (exact, case-sensitive); its index in *out. */
static bool take_name(const char **s, const char *const *names, int n, int *out)
{
    for (int i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        if (strncmp(*s, names[i], len) == 0) {
            *s += len;
            *out = i;
            return true;
        }
    }
    return false;
}

/* Consume the literal lit. */
static bool take_lit(const char **s, const char *lit)
{
    size_t len = strlen(lit);
    if (strncmp(*s, lit, len) != 0)
        return false;
    *s += len;
    return true;
}

/* "hh:mm:ss" */
static bool take_clock(const char **s, int *h, int *mi, int *sec)
{
    return take_digits(s, 2, h) && take_char(s, ':', 0) && take_digits(s, 2, mi) && take_char(s, ':', 0) &&
           take_digits(s, 2, sec);
}

/* rfc850-date: a two-digit year is the one nearest the past that is at most 50 years
 * ahead of the current year (RFC 9110 5.6.7). */
static int rfc850_year(int yy)
{
    int64_t ms, day;
    int64_t now = split_ms(st_time_wall_ms(), &ms, &day).year;
    int64_t y = now - now % 100 + yy;
    if (y > now + 50)
        y -= 100;
    return (int)y;
}

/* The three formats after the weekday; fills the fields or returns false. */
static bool take_http_date(const char *s, int *y, int *mo, int *d, int *h, int *mi, int *sec)
{
    int wd;
    if (take_name(&s, wday_long, 7, &wd)) { /* rfc850-date: "Sunday, 06-Nov-94 08:49:37 GMT" */
        int yy;
        bool ok = take_lit(&s, ", ") && take_digits(&s, 2, d) && take_char(&s, '-', 0) &&
                  take_name(&s, month_names, 12, mo) && take_char(&s, '-', 0) && take_digits(&s, 2, &yy) &&
                  take_char(&s, ' ', 0) && take_clock(&s, h, mi, sec) && take_lit(&s, " GMT") && *s == '\0';
        *y = ok ? rfc850_year(yy) : 0;
        return ok;
    }
    if (!take_name(&s, wday_short, 7, &wd))
        return false;
    if (take_lit(&s, ", ")) /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
        return take_digits(&s, 2, d) && take_char(&s, ' ', 0) && take_name(&s, month_names, 12, mo) &&
               take_char(&s, ' ', 0) && take_digits(&s, 4, y) && take_char(&s, ' ', 0) && take_clock(&s, h, mi, sec) &&
               take_lit(&s, " GMT") && *s == '\0';
    /* asctime-date: "Sun Nov  6 08:49:37 1994" (day as 2DIGIT or SP DIGIT) */
    if (!take_char(&s, ' ', 0) || !take_name(&s, month_names, 12, mo) || !take_char(&s, ' ', 0))
        return false;
    if (take_char(&s, ' ', 0)) {
        if (!take_digits(&s, 1, d))
            return false;
    } else if (!take_digits(&s, 2, d)) {
        return false;
    }
    return take_char(&s, ' ', 0) && take_clock(&s, h, mi, sec) && take_char(&s, ' ', 0) && take_digits(&s, 4, y) &&
           *s == '\0';
}

int st_time_parse_http(const char *s, size_t len, int64_t *wall_ms)
{
    /* Copy into a NUL-terminated buffer so the scanners above (which stop at a mismatch,
     * and NUL mismatches everything) never read past the value. The longest valid form,
     * rfc850 with "Wednesday", is 33 bytes. */
    char tmp[40];
    if (!s || len >= sizeof(tmp) || memchr(s, '\0', len))
        return ST_EPARSE;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    int y, mo, d, h, mi, sec;
    if (!take_http_date(tmp, &y, &mo, &d, &h, &mi, &sec))
        return ST_EPARSE;
    mo++; /* take_name gave the index */
    if (d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
        return ST_EPARSE;
    *wall_ms = (days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + sec) * 1000;
    return 0;
}
