/*
 * onigsplit: the matches Hugging Face tokenizers' regexes find, by the same
 * engine (Oniguruma, which the Rust crate `onig` wraps, with its default
 * Ruby syntax and UTF-8), iterated as the `onig` crate's find_iter does
 * (an empty match right after the previous match is skipped by one char).
 *
 * Usage: onigsplit PATTERN < hex-lines > json-lines
 * Each input line is a text in hex; each output line is the JSON list of its
 * matches, [[start, end], ...] in byte offsets.
 *
 * Build: cc -O2 -o onigsplit onigsplit.c -lonig   (Debian: libonig-dev)
 */
#include <oniguruma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hexval(int c) {
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* utf8len is the length of the UTF-8 character that starts with byte b. */
static int utf8len(unsigned char b) {
	if (b < 0x80) return 1;
	if ((b & 0xE0) == 0xC0) return 2;
	if ((b & 0xF0) == 0xE0) return 3;
	if ((b & 0xF8) == 0xF0) return 4;
	return 1;
}

int main(int argc, char **argv) {
	if (argc != 2) {
		fprintf(stderr, "usage: onigsplit PATTERN < hex-lines\n");
		return 2;
	}
	OnigEncoding enc = ONIG_ENCODING_UTF8;
	onig_initialize(&enc, 1);
	regex_t *reg;
	OnigErrorInfo einfo;
	const UChar *pat = (const UChar *)argv[1];
	int r = onig_new(&reg, pat, pat + strlen(argv[1]), ONIG_OPTION_NONE, ONIG_ENCODING_UTF8,
			 ONIG_SYNTAX_DEFAULT, &einfo);
	if (r != ONIG_NORMAL) {
		UChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
		onig_error_code_to_str(msg, r, &einfo);
		fprintf(stderr, "onigsplit: %s\n", msg);
		return 1;
	}
	OnigRegion *region = onig_region_new();
	size_t cap = 1 << 16;
	char *line = malloc(cap);
	unsigned char *text = malloc(cap);
	while (fgets(line, (int)cap, stdin)) {
		size_t n = strcspn(line, "\r\n");
		size_t len = n / 2;
		for (size_t i = 0; i < len; i++) {
			text[i] = (unsigned char)(hexval(line[2 * i]) << 4 | hexval(line[2 * i + 1]));
		}
		const UChar *end = text + len;
		size_t last_end = 0;
		long last_match_end = -1;
		int first = 1;
		printf("[");
		while (last_end <= len) {
			onig_region_clear(region);
			int pos = onig_search(reg, text, end, text + last_end, end, region, ONIG_OPTION_NONE);
			if (pos < 0) break;
			long s = region->beg[0], e = region->end[0];
			if (s == e && last_match_end == e) {
				last_end += last_end < len ? (size_t)utf8len(text[last_end]) : 1;
				continue;
			}
			last_end = (size_t)e;
			last_match_end = e;
			printf("%s[%ld,%ld]", first ? "" : ",", s, e);
			first = 0;
		}
		printf("]\n");
	}
	onig_region_free(region, 1);
	onig_free(reg);
	onig_end();
	return 0;
}
