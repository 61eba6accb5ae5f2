/* The command-line number parsers: durations, integers, PIDs. */
#include "fuzz.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include "util/parse.h"

int fuzz_parse_numbers(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstring(data, size);
	double secs;
	if (parse_seconds(s, &secs) == 0)
		FUZZ_CHECK(isfinite(secs) && secs >= 0);

	int64_t v;
	if (parse_int64(s, -1000, 1000, &v) == 0)
		FUZZ_CHECK(v >= -1000 && v <= 1000);
	if (parse_int64(s, INT64_MIN, INT64_MAX, &v) == 0) {
		char back[32];
		int64_t again;
		snprintf(back, sizeof(back), "%lld", (long long)v);
		FUZZ_CHECK(parse_int64(back, INT64_MIN, INT64_MAX, &again) == 0 && again == v);
	}

	pid_t pid;
	if (parse_pid(s, &pid) == 0)
		FUZZ_CHECK(pid >= 1 && isdigit((unsigned char)s[0]));
	free(s);
	return 0;
}

#ifdef PK_FUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_parse_numbers(data, size);
}
#endif
