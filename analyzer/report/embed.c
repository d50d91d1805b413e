/* embed.c — build-time tool: turns the report page's assets (report.html, report.css,
 * report.js) into a C header holding the page before and after the data, with the CSS and
 * the JS inlined and the Content-Security-Policy naming their SHA-256 hashes. Runs only in
 * the build; it is not linked into pymple-analyze.
 *
 * usage: embed TEMPLATE CSS JS > report_assets.h
 *
 * TEMPLATE holds four markers, each exactly once: @CSP@ (replaced by the policy), @STYLE@
 * (the CSS, between <style> and </style>), @SCRIPT@ (the JS, between <script> and
 * </script>) and @DATA@ (where report_html_write() puts the escaped document: the header
 * splits the page there into report_head and report_tail). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- SHA-256 (FIPS 180-4). Written here because the build has no other need for a
 * cryptographic library and the browser, not this tool, is the judge: a wrong hash makes the
 * page's CSP block its own script, which tests/html/run.sh would see. ---- */

struct sha256 {
	uint32_t h[8];
	uint64_t len;
	unsigned char buf[64];
	size_t used;
};

static const uint32_t sha256_k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2};

static uint32_t ror(uint32_t x, int n)
{
	return (x >> n) | (x << (32 - n));
}

static void sha256_init(struct sha256 *s)
{
	static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	memcpy(s->h, h0, sizeof h0);
	s->len = 0;
	s->used = 0;
}

static void sha256_block(struct sha256 *s, const unsigned char *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, h;
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3];
	e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = h + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) +
		              sha256_k[i] + w[i];
		uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		h = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
	}
	s->h[0] += a, s->h[1] += b, s->h[2] += c, s->h[3] += d;
	s->h[4] += e, s->h[5] += f, s->h[6] += g, s->h[7] += h;
}

static void sha256_update(struct sha256 *s, const void *data, size_t n)
{
	const unsigned char *p = data;
	s->len += n;
	while (n > 0) {
		size_t k = 64 - s->used < n ? 64 - s->used : n;
		memcpy(s->buf + s->used, p, k);
		s->used += k, p += k, n -= k;
		if (s->used == 64) {
			sha256_block(s, s->buf);
			s->used = 0;
		}
	}
}

static void sha256_final(struct sha256 *s, unsigned char out[32])
{
	uint64_t bits = s->len * 8;
	unsigned char pad[72] = {0x80};
	size_t padlen = (s->used < 56 ? 56 : 120) - s->used;
	for (int i = 0; i < 8; i++)
		pad[padlen + i] = (unsigned char)(bits >> (56 - 8 * i));
	sha256_update(s, pad, padlen + 8);
	for (int i = 0; i < 8; i++)
		for (int j = 0; j < 4; j++)
			out[4 * i + j] = (unsigned char)(s->h[i] >> (24 - 8 * j));
}

/* "sha256-" + base64 of the digest, as CSP source lists want it. */
static void csp_hash(const char *text, size_t n, char out[64])
{
	static const char b64[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char d[33] = {0};
	struct sha256 s;
	sha256_init(&s);
	sha256_update(&s, text, n);
	sha256_final(&s, d);
	char *o = out + sprintf(out, "'sha256-");
	for (int i = 0; i < 33; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
		*o++ = b64[v >> 18 & 63];
		*o++ = b64[v >> 12 & 63];
		*o++ = i + 1 < 32 ? b64[v >> 6 & 63] : '=';
		*o++ = i + 2 < 32 ? b64[v & 63] : '=';
	}
	*o++ = '\'';
	*o = '\0';
}

/* ---- the header ---- */

struct text {
	char *p;
	size_t n;
};

static struct text slurp(const char *path)
{
	struct text t = {NULL, 0};
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		exit(1);
	}
	size_t cap = 0;
	for (;;) {
		if (t.n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 65536;
			t.p = realloc(t.p, cap);
			if (!t.p) {
				perror("embed");
				exit(1);
			}
		}
		size_t k = fread(t.p + t.n, 1, 4096, f);
		t.n += k;
		if (k < 4096)
			break;
	}
	if (ferror(f)) {
		perror(path);
		exit(1);
	}
	fclose(f);
	t.p[t.n] = '\0';
	if (strlen(t.p) != t.n) {
		fprintf(stderr, "embed: %s: holds a NUL byte\n", path);
		exit(1);
	}
	return t;
}

/* Prints n bytes as the body of a C string literal, one source line per input line.
 * Octal escapes stop at three digits, so a digit after one is never absorbed; '?' is
 * escaped so no trigraph can form. */
static void put_literal(const char *p, size_t n)
{
	fputs("\t\"", stdout);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '\\' || c == '"' || c == '?')
			printf("\\%c", c);
		else if (c == '\n')
			fputs(i + 1 < n ? "\\n\"\n\t\"" : "\\n", stdout);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\%03o", c);
		else
			putchar(c);
	}
	fputs("\"", stdout);
}

static const char *marker(const struct text *t, const char *m)
{
	const char *at = strstr(t->p, m);
	if (!at || strstr(at + 1, m)) {
		fprintf(stderr, "embed: the template must hold %s exactly once\n", m);
		exit(1);
	}
	return at;
}

/* An inlined asset must not end its own element early. */
static void check_asset(const struct text *t, const char *name, const char *closer)
{
	for (const char *p = t->p; (p = strchr(p, '<')) != NULL; p++)
		if (strncasecmp(p, closer, strlen(closer)) == 0 || strncmp(p, "<!--", 4) == 0) {
			fprintf(stderr, "embed: %s holds %s or <!--\n", name, closer);
			exit(1);
		}
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: embed TEMPLATE CSS JS > report_assets.h\n");
		return 2;
	}
	struct text tpl = slurp(argv[1]), css = slurp(argv[2]), js = slurp(argv[3]);
	check_asset(&css, argv[2], "</style");
	check_asset(&js, argv[3], "</script");

	char hcss[64], hjs[64], csp[512];
	csp_hash(css.p, css.n, hcss);
	csp_hash(js.p, js.n, hjs);
	/* No source may be fetched: default-src 'none' covers images, fonts, media, frames
	 * and connections; only the two inline blocks whose hashes are named here run or apply.
	 * Trusted Types with no policy makes the browser refuse any string assigned to
	 * innerHTML and its kin, so the rule "data goes in as text" is enforced, not hoped. */
	snprintf(csp, sizeof csp,
	         "default-src 'none'; script-src %s; style-src %s; base-uri 'none'; "
	         "form-action 'none'; require-trusted-types-for 'script'; trusted-types 'none'",
	         hjs, hcss);

	const char *marks[4] = {"@CSP@", "@STYLE@", "@SCRIPT@", "@DATA@"};
	const char *at[4];
	for (int i = 0; i < 4; i++)
		at[i] = marker(&tpl, marks[i]);
	if (!(at[0] < at[1] && at[1] < at[2] && at[3] < at[2])) {
		fprintf(stderr, "embed: the template's markers must come in the order "
		                "@CSP@ @STYLE@ @DATA@ @SCRIPT@\n");
		return 1;
	}

	printf("/* generated by analyzer/report/embed.c from analyzer/report/: do not edit */\n");
	printf("/* script-src %s, style-src %s */\n", hjs, hcss);
	printf("static const char report_head[] =\n");
	const char *p = tpl.p;
	put_literal(p, (size_t)(at[0] - p));
	putchar('\n');
	put_literal(csp, strlen(csp));
	putchar('\n');
	p = at[0] + strlen(marks[0]);
	put_literal(p, (size_t)(at[1] - p));
	putchar('\n');
	put_literal(css.p, css.n);
	putchar('\n');
	p = at[1] + strlen(marks[1]);
	put_literal(p, (size_t)(at[3] - p));
	printf(";\nstatic const char report_tail[] =\n");
	p = at[3] + strlen(marks[3]);
	put_literal(p, (size_t)(at[2] - p));
	putchar('\n');
	put_literal(js.p, js.n);
	putchar('\n');
	p = at[2] + strlen(marks[2]);
	put_literal(p, strlen(p));
	printf(";\n");
	free(tpl.p);
	free(css.p);
	free(js.p);
	return ferror(stdout) ? 1 : 0;
}
