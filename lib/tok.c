/* tok: BERT basic tokenizer + WordPiece, as the Rust `tokenizers` crate's
 * BertNormalizer, BertPreTokenizer and WordPiece model do it. */
#include <err.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <utf8proc.h>

#include "tok.h"
#include "util.h"

/* ASCII classes, after normalisation */
enum { A_DROP, A_SPACE, A_PUNCT, A_WORD };

static unsigned char ascii_class[128];

static void
ascii_init(void)
{
	int c;

	for (c = 0; c < 128; c++) {
		if (c == 0 || (c < 32 && c != '\t' && c != '\n' && c != '\r') ||
		    c == 127)
			ascii_class[c] = A_DROP;	/* NUL and Cc controls */
		else if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			ascii_class[c] = A_SPACE;
		else if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) ||
		    (c >= 91 && c <= 96) || (c >= 123 && c <= 126))
			ascii_class[c] = A_PUNCT;
		else
			ascii_class[c] = A_WORD;
	}
}

/* Where utf8proc 2.8 (Unicode 15) disagrees with the tables the Rust
 * tokenizers crate uses: its general categories (unicode_categories: an old
 * Unicode, so later characters count as unassigned letters, and a few
 * changed category) and its lowercase (Rust's std, Unicode 16).  Derived by
 * comparing every code point with the reference behaviour in
 * fixtures/tok/unicode.tsv.gz (fixtures/gen/gen_tok.py); tests/unit/t_tok.c
 * checks all of them. */
enum { U_NONE, U_LETTER, U_CONTROL, U_PUNCT, U_MN };

struct uni_override {
	int32_t lo, hi;
	int kind;
};

static const struct uni_override uni_override[] = {
	{ 0x61D, 0x61D, U_LETTER }, { 0x7FD, 0x7FD, U_LETTER },
	{ 0x890, 0x891, U_LETTER }, { 0x898, 0x89F, U_LETTER },
	{ 0x8CA, 0x8E2, U_LETTER }, { 0x9FD, 0x9FE, U_LETTER },
	{ 0xA76, 0xA76, U_LETTER }, { 0xAFA, 0xAFF, U_LETTER },
	{ 0xB55, 0xB55, U_LETTER }, { 0xC04, 0xC04, U_LETTER },
	{ 0xC3C, 0xC3C, U_LETTER }, { 0xC77, 0xC77, U_LETTER },
	{ 0xC84, 0xC84, U_LETTER }, { 0xD00, 0xD00, U_LETTER },
	{ 0xD3B, 0xD3C, U_LETTER }, { 0xD81, 0xD81, U_LETTER },
	{ 0xEBA, 0xEBA, U_LETTER }, { 0xECE, 0xECE, U_LETTER },
	{ 0x166D, 0x166D, U_PUNCT }, { 0x1734, 0x1734, U_MN },
	{ 0x180F, 0x180F, U_LETTER }, { 0x1885, 0x1886, U_LETTER },
	{ 0x1ABF, 0x1ACE, U_LETTER }, { 0x1B7D, 0x1B7E, U_LETTER },
	{ 0x1C89, 0x1C89, U_LETTER }, { 0x1DF6, 0x1DFB, U_LETTER },
	{ 0x2E43, 0x2E4F, U_LETTER }, { 0x2E52, 0x2E5D, U_LETTER },
	{ 0xA7CB, 0xA7CC, U_LETTER }, { 0xA7CE, 0xA7CE, U_LETTER },
	{ 0xA7D2, 0xA7D2, U_LETTER }, { 0xA7D4, 0xA7D4, U_LETTER },
	{ 0xA7DA, 0xA7DA, U_LETTER }, { 0xA7DC, 0xA7DC, U_LETTER },
	{ 0xA82C, 0xA82C, U_LETTER }, { 0xA8C5, 0xA8C5, U_LETTER },
	{ 0xA8FF, 0xA8FF, U_LETTER }, { 0xA9BD, 0xA9BD, U_LETTER },
	{ 0x10D24, 0x10D27, U_LETTER }, { 0x10D50, 0x10D65, U_LETTER },
	{ 0x10EAB, 0x10EAD, U_LETTER }, { 0x10EFD, 0x10EFF, U_LETTER },
	{ 0x10F46, 0x10F50, U_LETTER }, { 0x10F55, 0x10F59, U_LETTER },
	{ 0x10F82, 0x10F89, U_LETTER }, { 0x11070, 0x11070, U_LETTER },
	{ 0x11073, 0x11074, U_LETTER }, { 0x110C2, 0x110C2, U_LETTER },
	{ 0x110CD, 0x110CD, U_LETTER }, { 0x111C9, 0x111C9, U_PUNCT },
	{ 0x111CF, 0x111CF, U_LETTER }, { 0x1123E, 0x1123E, U_LETTER },
	{ 0x11241, 0x11241, U_LETTER }, { 0x1133B, 0x1133B, U_LETTER },
	{ 0x11438, 0x1143F, U_LETTER }, { 0x11442, 0x11444, U_LETTER },
	{ 0x11446, 0x11446, U_LETTER }, { 0x1144B, 0x1144F, U_LETTER },
	{ 0x1145A, 0x1145B, U_LETTER }, { 0x1145D, 0x1145E, U_LETTER },
	{ 0x11660, 0x1166C, U_LETTER }, { 0x116B9, 0x116B9, U_LETTER },
	{ 0x1182F, 0x11837, U_LETTER }, { 0x11839, 0x1183B, U_LETTER },
	{ 0x11938, 0x11938, U_LETTER }, { 0x1193B, 0x1193C, U_LETTER },
	{ 0x1193E, 0x1193E, U_LETTER }, { 0x11943, 0x11946, U_LETTER },
	{ 0x119D4, 0x119D7, U_LETTER }, { 0x119DA, 0x119DB, U_LETTER },
	{ 0x119E0, 0x119E0, U_LETTER }, { 0x119E2, 0x119E2, U_LETTER },
	{ 0x11A01, 0x11A0A, U_LETTER }, { 0x11A33, 0x11A38, U_LETTER },
	{ 0x11A3B, 0x11A47, U_LETTER }, { 0x11A51, 0x11A56, U_LETTER },
	{ 0x11A59, 0x11A5B, U_LETTER }, { 0x11A8A, 0x11A96, U_LETTER },
	{ 0x11A98, 0x11A9C, U_LETTER }, { 0x11A9E, 0x11AA2, U_LETTER },
	{ 0x11B00, 0x11B09, U_LETTER }, { 0x11C30, 0x11C36, U_LETTER },
	{ 0x11C38, 0x11C3D, U_LETTER }, { 0x11C3F, 0x11C3F, U_LETTER },
	{ 0x11C41, 0x11C45, U_LETTER }, { 0x11C70, 0x11C71, U_LETTER },
	{ 0x11C92, 0x11CA7, U_LETTER }, { 0x11CAA, 0x11CB0, U_LETTER },
	{ 0x11CB2, 0x11CB3, U_LETTER }, { 0x11CB5, 0x11CB6, U_LETTER },
	{ 0x11D31, 0x11D36, U_LETTER }, { 0x11D3A, 0x11D3A, U_LETTER },
	{ 0x11D3C, 0x11D3D, U_LETTER }, { 0x11D3F, 0x11D45, U_LETTER },
	{ 0x11D47, 0x11D47, U_LETTER }, { 0x11D90, 0x11D91, U_LETTER },
	{ 0x11D95, 0x11D95, U_LETTER }, { 0x11D97, 0x11D97, U_LETTER },
	{ 0x11EF3, 0x11EF4, U_LETTER }, { 0x11EF7, 0x11EF8, U_LETTER },
	{ 0x11F00, 0x11F01, U_LETTER }, { 0x11F36, 0x11F3A, U_LETTER },
	{ 0x11F40, 0x11F40, U_LETTER }, { 0x11F42, 0x11F4F, U_LETTER },
	{ 0x11FFF, 0x11FFF, U_LETTER }, { 0x12FF1, 0x12FF2, U_LETTER },
	{ 0x13430, 0x13440, U_LETTER }, { 0x13447, 0x13455, U_LETTER },
	{ 0x16E97, 0x16E9A, U_LETTER }, { 0x16EA0, 0x16EB8, U_LETTER },
	{ 0x16F4F, 0x16F4F, U_LETTER }, { 0x16FE2, 0x16FE2, U_LETTER },
	{ 0x16FE4, 0x16FE4, U_LETTER }, { 0x1CF00, 0x1CF2D, U_LETTER },
	{ 0x1CF30, 0x1CF46, U_LETTER }, { 0x1E000, 0x1E006, U_LETTER },
	{ 0x1E008, 0x1E018, U_LETTER }, { 0x1E01B, 0x1E021, U_LETTER },
	{ 0x1E023, 0x1E024, U_LETTER }, { 0x1E026, 0x1E02A, U_LETTER },
	{ 0x1E08F, 0x1E08F, U_LETTER }, { 0x1E130, 0x1E136, U_LETTER },
	{ 0x1E2AE, 0x1E2AE, U_LETTER }, { 0x1E2EC, 0x1E2EF, U_LETTER },
	{ 0x1E4EC, 0x1E4EF, U_LETTER }, { 0x1E944, 0x1E94A, U_LETTER },
	{ 0x1E95E, 0x1E95F, U_LETTER },
};
static const int32_t uni_lower[][2] = {
	{ 0x1C89, 0x1C8A }, { 0xA7CB, 0x264 }, { 0xA7CC, 0xA7CD },
	{ 0xA7CE, 0xA7CF }, { 0xA7D2, 0xA7D3 }, { 0xA7D4, 0xA7D5 },
	{ 0xA7DA, 0xA7DB }, { 0xA7DC, 0x19B }, { 0x10D50, 0x10D70 },
	{ 0x10D51, 0x10D71 }, { 0x10D52, 0x10D72 }, { 0x10D53, 0x10D73 },
	{ 0x10D54, 0x10D74 }, { 0x10D55, 0x10D75 }, { 0x10D56, 0x10D76 },
	{ 0x10D57, 0x10D77 }, { 0x10D58, 0x10D78 }, { 0x10D59, 0x10D79 },
	{ 0x10D5A, 0x10D7A }, { 0x10D5B, 0x10D7B }, { 0x10D5C, 0x10D7C },
	{ 0x10D5D, 0x10D7D }, { 0x10D5E, 0x10D7E }, { 0x10D5F, 0x10D7F },
	{ 0x10D60, 0x10D80 }, { 0x10D61, 0x10D81 }, { 0x10D62, 0x10D82 },
	{ 0x10D63, 0x10D83 }, { 0x10D64, 0x10D84 }, { 0x10D65, 0x10D85 },
	{ 0x16EA0, 0x16EBB }, { 0x16EA1, 0x16EBC }, { 0x16EA2, 0x16EBD },
	{ 0x16EA3, 0x16EBE }, { 0x16EA4, 0x16EBF }, { 0x16EA5, 0x16EC0 },
	{ 0x16EA6, 0x16EC1 }, { 0x16EA7, 0x16EC2 }, { 0x16EA8, 0x16EC3 },
	{ 0x16EA9, 0x16EC4 }, { 0x16EAA, 0x16EC5 }, { 0x16EAB, 0x16EC6 },
	{ 0x16EAC, 0x16EC7 }, { 0x16EAD, 0x16EC8 }, { 0x16EAE, 0x16EC9 },
	{ 0x16EAF, 0x16ECA }, { 0x16EB0, 0x16ECB }, { 0x16EB1, 0x16ECC },
	{ 0x16EB2, 0x16ECD }, { 0x16EB3, 0x16ECE }, { 0x16EB4, 0x16ECF },
	{ 0x16EB5, 0x16ED0 }, { 0x16EB6, 0x16ED1 }, { 0x16EB7, 0x16ED2 },
	{ 0x16EB8, 0x16ED3 },
};

static int
uni_kind(int32_t c)
{
	size_t lo = 0, hi = sizeof uni_override / sizeof uni_override[0];

	if (c < uni_override[0].lo)
		return U_NONE;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (c < uni_override[mid].lo)
			hi = mid;
		else if (c > uni_override[mid].hi)
			lo = mid + 1;
		else
			return uni_override[mid].kind;
	}
	return U_NONE;
}

static int32_t
uni_tolower(int32_t c)
{
	size_t lo = 0, hi = sizeof uni_lower / sizeof uni_lower[0];

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (c < uni_lower[mid][0])
			hi = mid;
		else if (c > uni_lower[mid][0])
			lo = mid + 1;
		else
			return uni_lower[mid][1];
	}
	return utf8proc_tolower(c);
}

/* Rust's char::is_whitespace (the White_Space property) */
static int
is_space(int32_t c)
{
	if (c < 0x80)
		return c == ' ' || (c >= 9 && c <= 13);
	switch (c) {
	case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
	case 0x202F: case 0x205F: case 0x3000:
		return 1;
	}
	return c >= 0x2000 && c <= 0x200A;
}

/* Cc, Cf, Cn, Co, Cs, but not \t \n \r */
static int
is_control(int32_t c)
{
	int k;

	if (c == '\t' || c == '\n' || c == '\r')
		return 0;
	if ((k = uni_kind(c)) != U_NONE)
		return k == U_CONTROL;
	switch (utf8proc_category(c)) {
	case UTF8PROC_CATEGORY_CC: case UTF8PROC_CATEGORY_CF:
	case UTF8PROC_CATEGORY_CO:
	case UTF8PROC_CATEGORY_CS:
		return 1;
	default:
		return 0;
	}
}

static int
is_punct(int32_t c)
{
	int k;

	if (c < 0x80)
		return ascii_class[c] == A_PUNCT;
	if ((k = uni_kind(c)) != U_NONE)
		return k == U_PUNCT;
	switch (utf8proc_category(c)) {
	case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD:
	case UTF8PROC_CATEGORY_PS: case UTF8PROC_CATEGORY_PE:
	case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF:
	case UTF8PROC_CATEGORY_PO:
		return 1;
	default:
		return 0;
	}
}

static int
is_mn(int32_t c)
{
	int k = uni_kind(c);

	if (k != U_NONE)
		return k == U_MN;
	return utf8proc_category(c) == UTF8PROC_CATEGORY_MN;
}

/* The CJK blocks BERT puts spaces around */
static int
is_chinese(int32_t c)
{
	return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
	    (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
	    (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
	    (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* ---- UTF-8 ---- */

size_t
tok_utf8_check(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		uint64_t w;
		unsigned c = p[i];
		size_t k, len;
		uint32_t cp, min;

		if (i + 8 <= n) {
			memcpy(&w, p + i, 8);
			if (!(w & 0x8080808080808080ull)) {
				i += 8;
				continue;
			}
		}
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			len = 2, cp = c & 0x1F, min = 0x80;
		else if (c >= 0xE0 && c <= 0xEF)
			len = 3, cp = c & 0x0F, min = 0x800;
		else if (c >= 0xF0 && c <= 0xF4)
			len = 4, cp = c & 0x07, min = 0x10000;
		else
			return i;
		if (i + len > n)
			return i;
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				return i;
			cp = cp << 6 | (p[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return i;
		i += len;
	}
	return n;
}

/* decode one code point of valid UTF-8 */
static int32_t
utf8_get(const unsigned char *p, size_t *len)
{
	unsigned c = p[0];

	if (c < 0xE0) {
		*len = 2;
		return (int32_t)((c & 0x1F) << 6 | (p[1] & 0x3F));
	}
	if (c < 0xF0) {
		*len = 3;
		return (int32_t)((c & 0x0F) << 12 | (p[1] & 0x3F) << 6 |
		    (p[2] & 0x3F));
	}
	*len = 4;
	return (int32_t)((c & 0x07) << 18 | (p[1] & 0x3F) << 12 |
	    (p[2] & 0x3F) << 6 | (p[3] & 0x3F));
}

/* ---- vocabulary hash table ---- */

#define HSEED(cont) ((cont) ? 0x9747b28cu : 0x811c9dc5u)
#define HSTEP(h, b) (((h) ^ (unsigned char)(b)) * 0x01000193u)
#define HMIX(h) ((h) ^ ((h) >> 15))

static uint32_t
hash(int cont, const char *s, size_t n)
{
	uint32_t h = HSEED(cont);
	size_t i;

	for (i = 0; i < n; i++)
		h = HSTEP(h, s[i]);
	return HMIX(h);
}

/* key of vocabulary entry id: ("##x" -> continuation "x") */
static void
vkey(const struct tok *t, uint32_t id, int *cont, const char **s, size_t *n)
{
	const char *p = t->blob + t->off[id];
	size_t len = t->len[id];

	if (len > 2 && p[0] == '#' && p[1] == '#') {
		*cont = 1;
		*s = p + 2;
		*n = len - 2;
	} else {
		*cont = 0;
		*s = p;
		*n = len;
	}
}

static long
lookup(const struct tok *t, int cont, const char *s, size_t n)
{
	uint32_t h = hash(cont, s, n);
	size_t i = h & t->mask;
	uint32_t e;

	while ((e = (uint32_t)t->slot[i]) != 0) {
		if ((uint32_t)(t->slot[i] >> 32) == h) {
			int c;
			const char *k;
			size_t kn;

			vkey(t, e - 1, &c, &k, &kn);
			if (c == cont && kn == n && memcmp(k, s, n) == 0)
				return (long)e - 1;
		}
		i = (i + 1) & t->mask;
	}
	return -1;
}

long
tok_id(const struct tok *t, const char *s, size_t n)
{
	if (n > 2 && s[0] == '#' && s[1] == '#')
		return lookup(t, 1, s + 2, n - 2);
	return lookup(t, 0, s, n);
}

/* The prefix table: every prefix of every key (continuation keys apart),
 * with the id of the token it spells, if any.  WordPiece extends a piece
 * one character at a time while the bytes are a prefix of some key, so the
 * longest match costs one probe per character (FNV-1a is incremental). */
static const struct tok_prefix *
pfind(const struct tok *t, int cont, uint32_t h, const char *s, size_t n)
{
	size_t i = h & t->pmask;
	uint32_t e;

	while ((e = (uint32_t)t->pslot[i]) != 0) {
		const struct tok_prefix *p = &t->pent[e - 1];

		if ((uint32_t)(t->pslot[i] >> 32) == h && p->len == n &&
		    p->cont == cont) {
			int c;
			const char *k;
			size_t kn;

			vkey(t, p->src, &c, &k, &kn);
			if (memcmp(k, s, n) == 0)
				return p;
		}
		i = (i + 1) & t->pmask;
	}
	return NULL;
}

static void
build_prefixes(struct tok *t)
{
	size_t total = 0, size = 1024, id, cap;

	for (id = 0; id < t->V; id++)
		total += t->len[id];
	while (size < 2 * total + 2)
		size *= 2;
	t->pslot = xcalloc(size, sizeof *t->pslot);
	t->pmask = size - 1;
	cap = total + 1;
	t->pent = xmalloc(cap * sizeof *t->pent);
	t->npent = 0;
	for (id = 0; id < t->V; id++) {
		int cont;
		const char *k;
		size_t kn, n;
		uint32_t h;
		long tokid;

		vkey(t, (uint32_t)id, &cont, &k, &kn);
		if (kn > 0xFFFF)
			continue;
		h = HSEED(cont);
		for (n = 1; n <= kn; n++) {
			const struct tok_prefix *p;
			uint32_t hm;

			h = HSTEP(h, k[n - 1]);
			hm = HMIX(h);
			if ((p = pfind(t, cont, hm, k, n)) != NULL)
				continue;
			tokid = lookup(t, cont, k, n);
			t->pent[t->npent].h = hm;
			t->pent[t->npent].src = (uint32_t)id;
			t->pent[t->npent].len = (uint16_t)n;
			t->pent[t->npent].cont = (uint8_t)cont;
			t->pent[t->npent].tok = (int32_t)tokid;
			t->npent++;
			{
				size_t i = hm & t->pmask;

				while (t->pslot[i] != 0)
					i = (i + 1) & t->pmask;
				t->pslot[i] = (uint64_t)hm << 32 |
				    (uint32_t)t->npent;
			}
		}
	}
}

static void
build_table(struct tok *t)
{
	size_t size = 1024, id;

	while (size < 4 * t->V)
		size *= 2;
	t->slot = xcalloc(size, sizeof *t->slot);
	t->mask = size - 1;
	t->maxkey = 0;
	for (id = 0; id < t->V; id++) {
		int cont;
		const char *k;
		size_t kn, i;
		uint32_t h;

		vkey(t, (uint32_t)id, &cont, &k, &kn);
		if (kn > t->maxkey)
			t->maxkey = kn;
		h = hash(cont, k, kn);
		for (i = h & t->mask; t->slot[i] != 0; i = (i + 1) & t->mask) {
			int c;
			const char *k2;
			size_t kn2;

			vkey(t, (uint32_t)t->slot[i] - 1, &c, &k2, &kn2);
			if (c == cont && kn2 == kn && memcmp(k, k2, kn) == 0)
				break;	/* a later duplicate wins, as in Rust */
		}
		t->slot[i] = (uint64_t)h << 32 | ((uint32_t)id + 1);
	}
	build_prefixes(t);
}

/* Split vocab text into lines (trailing whitespace trimmed, as Rust's
 * trim_end() on ASCII); a last line without '\n' counts, a final empty one
 * does not. */
static void
parse_vocab(struct tok *t, const char *v, size_t n)
{
	size_t i, start, nl = 0, id = 0;

	for (i = 0; i < n; i++)
		nl += v[i] == '\n';
	if (n > 0 && v[n - 1] != '\n')
		nl++;
	t->V = nl;
	t->blob = xmalloc(n + nl + 1);
	t->off = xmalloc((nl + 1) * sizeof *t->off);
	t->len = xmalloc((nl + 1) * sizeof *t->len);
	memcpy(t->blob, v, n);
	for (start = 0; start < n; start = i + 1) {
		size_t e;

		for (i = start; i < n && v[i] != '\n'; i++)
			;
		e = i;
		while (e > start && (v[e - 1] == ' ' || v[e - 1] == '\t' ||
		    v[e - 1] == '\r' || v[e - 1] == '\v' || v[e - 1] == '\f'))
			e--;
		t->off[id] = (uint32_t)start;
		t->len[id] = (uint32_t)(e - start);
		t->blob[e] = '\0';
		id++;
	}
}

static void
set_specials_default(struct tok *t)
{
	static const char *names[] = { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" };
	size_t i;

	t->spec = xcalloc(5, sizeof *t->spec);
	t->nspec = 0;
	for (i = 0; i < 5; i++) {
		long id = lookup(t, 0, names[i], strlen(names[i]));

		if (id < 0)
			continue;
		t->spec[t->nspec].s = xstrdup(names[i]);
		t->spec[t->nspec].n = strlen(names[i]);
		t->spec[t->nspec].id = (uint32_t)id;
		t->nspec++;
	}
}

static void
spec_bitmap(struct tok *t)
{
	size_t i;

	memset(t->spec_first, 0, sizeof t->spec_first);
	for (i = 0; i < t->nspec; i++) {
		unsigned char b = (unsigned char)t->spec[i].s[0];

		t->spec_first[b >> 3] |= (unsigned char)(1u << (b & 7));
	}
}

/* [CLS] A [SEP] and [UNK]: BERT's defaults, when the model directory
 * names none */
static int
find_core(struct tok *t)
{
	long cls = lookup(t, 0, "[CLS]", 5), sep = lookup(t, 0, "[SEP]", 5);
	long unk = lookup(t, 0, "[UNK]", 5);

	if (cls < 0 || sep < 0 || unk < 0)
		return -1;
	t->head[0] = (uint32_t)cls;
	t->tail[0] = (uint32_t)sep;
	t->nhead = t->ntail = 1;
	t->unk = (uint32_t)unk;
	return 0;
}

int
tok_init(struct tok *t, const char *vocab, size_t n, int lower,
    int strip_accents, size_t max_len)
{
	memset(t, 0, sizeof *t);
	ascii_init();
	parse_vocab(t, vocab, n);
	t->vocab_hash = util_fnv1a(vocab, n);
	build_table(t);
	t->lower = lower;
	t->strip_accents = strip_accents;
	t->chinese = 1;
	t->clean = 1;
	t->max_len = max_len;
	snprintf(t->model, sizeof t->model, "test");
	set_specials_default(t);
	spec_bitmap(t);
	t->wcap = 4 * (TOK_MAX_WORD_CHARS + 8) * 4;
	t->word = xmalloc(t->wcap);
	return find_core(t);
}

static void norm_specials(struct tok *t);

/* ---- model directory ---- */

static json_t *
load_json(const char *dir, const char *name, int must)
{
	char path[4096];
	json_t *j;
	json_error_t e;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	j = json_load_file(path, 0, &e);
	if (j == NULL) {
		FILE *fp = fopen(path, "r");

		if (fp == NULL) {
			if (must || errno != ENOENT)
				err(EXIT_NOINPUT, "%s", path);
			return NULL;
		}
		fclose(fp);
		errx(EXIT_DATAERR, "%s:%d: %s", path, e.line, e.text);
	}
	if (!json_is_object(j))
		errx(EXIT_DATAERR, "%s: not a JSON object", path);
	return j;
}

/* bool key: 1/0, or dflt if absent or null */
static int
jbool(const json_t *o, const char *key, int dflt, const char *what)
{
	json_t *v = o ? json_object_get(o, key) : NULL;

	if (v == NULL || json_is_null(v))
		return dflt;
	if (!json_is_boolean(v))
		errx(EXIT_DATAERR, "%s: \"%s\": not a boolean", what, key);
	return json_is_true(v);
}

static void
load_added_tokens(struct tok *t, json_t *tj)
{
	json_t *a = json_object_get(tj, "added_tokens"), *v;
	size_t i;

	if (!json_is_array(a))
		return;
	t->spec = xcalloc(json_array_size(a) + 1, sizeof *t->spec);
	t->nspec_n = xcalloc(json_array_size(a) + 1, sizeof *t->nspec_n);
	json_array_foreach(a, i, v) {
		json_t *c = json_object_get(v, "content");
		json_t *id = json_object_get(v, "id");
		json_t *norm = json_object_get(v, "normalized");

		if (!json_is_string(c) || !json_is_integer(id) ||
		    json_integer_value(id) < 0 || json_string_length(c) == 0)
			errx(EXIT_DATAERR, "tokenizer.json: added_tokens[%zu]: "
			    "expected \"content\" and \"id\"", i);
		if ((size_t)json_integer_value(id) >= t->V)
			errx(EXIT_DATAERR, "tokenizer.json: added token \"%s\": "
			    "id %lld is beyond vocab.txt's %zu tokens",
			    json_string_value(c), json_integer_value(id), t->V);
		if (json_is_true(norm)) {	/* normalised when the options
						 * are known (tok_load) */
			struct tok_special *x = &t->nspec_n[t->nnorm++];
			x->s = xstrdup(json_string_value(c));
			x->n = json_string_length(c);
			x->id = (uint32_t)json_integer_value(id);
			continue;
		}
		t->spec[t->nspec].s = xstrdup(json_string_value(c));
		t->spec[t->nspec].n = json_string_length(c);
		t->spec[t->nspec].id = (uint32_t)json_integer_value(id);
		t->nspec++;
	}
}

/* a special token's text: "[CLS]" or {"content": "[CLS]", ...} */
static const char *
token_text(const json_t *v)
{
	if (json_is_object(v))
		v = json_object_get(v, "content");
	return json_string_value(v);
}

/* id of special token text s: an added token's, else the vocabulary's */
static long
special_id(const struct tok *t, const char *s)
{
	size_t i;

	for (i = 0; i < t->nspec; i++)
		if (strcmp(t->spec[i].s, s) == 0)
			return t->spec[i].id;
	return lookup(t, 0, s, strlen(s));
}

static void
put_tpl(uint32_t *ids, size_t *n, long id, const char *dir, const char *what)
{
	if (*n == TOK_MAX_TPL)
		errx(EXIT_DATAERR, "%s/tokenizer.json: post_processor: more than "
		    "%d special tokens on one side of the text", dir, TOK_MAX_TPL);
	if (id < 0)
		errx(EXIT_DATAERR, "%s/tokenizer.json: post_processor: %s: not "
		    "a special token id", dir, what);
	ids[(*n)++] = (uint32_t)id;
}

/* TemplateProcessing's "single": SpecialToken pieces before and after the
 * Sequence piece, their ids from "special_tokens" */
static void
template_single(struct tok *t, const char *dir, const json_t *pp)
{
	const json_t *single = json_object_get(pp, "single");
	const json_t *sp = json_object_get(pp, "special_tokens"), *e;
	size_t i, nseq = 0;

	if (!json_is_array(single))
		errx(EXIT_DATAERR, "%s/tokenizer.json: post_processor: "
		    "\"single\": not an array", dir);
	json_array_foreach(single, i, e) {
		const json_t *tk = json_object_get(e, "SpecialToken");
		const char *name;
		const json_t *ids, *id;
		size_t k;

		if (json_object_get(e, "Sequence") != NULL) {
			nseq++;
			continue;
		}
		name = json_string_value(json_object_get(tk, "id"));
		if (name == NULL)
			errx(EXIT_DATAERR, "%s/tokenizer.json: post_processor: "
			    "\"single\"[%zu]: neither Sequence nor SpecialToken",
			    dir, i);
		ids = json_object_get(json_object_get(sp, name), "ids");
		if (!json_is_array(ids))
			errx(EXIT_DATAERR, "%s/tokenizer.json: post_processor: "
			    "special token \"%s\": no ids", dir, name);
		json_array_foreach(ids, k, id)
			put_tpl(nseq ? t->tail : t->head, nseq ? &t->ntail :
			    &t->nhead, json_is_integer(id) ?
			    (long)json_integer_value(id) : -1, dir, name);
	}
	if (nseq != 1)
		errx(EXIT_DATAERR, "%s/tokenizer.json: post_processor: \"single\" "
		    "has %zu sequences, expected 1", dir, nseq);
}

/* RobertaProcessing / BertProcessing: "cls": [text, id], "sep": [text, id] */
static void
template_clssep(struct tok *t, const char *dir, const json_t *pp)
{
	const json_t *cls = json_object_get(pp, "cls");
	const json_t *sep = json_object_get(pp, "sep");
	const json_t *ci = json_array_get(cls, 1), *si = json_array_get(sep, 1);

	put_tpl(t->head, &t->nhead, json_is_integer(ci) ?
	    (long)json_integer_value(ci) : -1, dir, "cls");
	put_tpl(t->tail, &t->ntail, json_is_integer(si) ?
	    (long)json_integer_value(si) : -1, dir, "sep");
}

/* The special tokens around a text and the unknown token, from the model
 * directory: tokenizer.json's post_processor (what the fast tokenizer
 * adds), else special_tokens_map.json's cls_token and sep_token (what
 * BertTokenizer and MPNetTokenizer add), else [CLS] and [SEP]; the unknown
 * token from tokenizer.json's WordPiece model, else
 * special_tokens_map.json, else [UNK]. */
static void
load_template(struct tok *t, const char *dir, const json_t *tj,
    const json_t *stm)
{
	const json_t *pp = tj ? json_object_get(tj, "post_processor") : NULL;
	const json_t *mo = tj ? json_object_get(tj, "model") : NULL;
	const char *ty, *unk = NULL;
	long id;
	size_t i;

	if (mo != NULL) {
		const json_t *pre = json_object_get(mo, "continuing_subword_prefix");
		const json_t *mx = json_object_get(mo, "max_input_chars_per_word");

		ty = json_string_value(json_object_get(mo, "type"));
		if (ty != NULL && strcmp(ty, "WordPiece") != 0)
			errx(EXIT_DATAERR, "%s/tokenizer.json: model type %s is "
			    "not supported (only WordPiece)", dir, ty);
		if (pre != NULL && !(json_is_string(pre) &&
		    strcmp(json_string_value(pre), "##") == 0))
			errx(EXIT_DATAERR, "%s/tokenizer.json: "
			    "continuing_subword_prefix: only \"##\" is supported",
			    dir);
		if (mx != NULL && !(json_is_integer(mx) &&
		    json_integer_value(mx) == TOK_MAX_WORD_CHARS))
			errx(EXIT_DATAERR, "%s/tokenizer.json: "
			    "max_input_chars_per_word: only %d is supported", dir,
			    TOK_MAX_WORD_CHARS);
		unk = json_string_value(json_object_get(mo, "unk_token"));
	}
	if (unk == NULL && stm != NULL)
		unk = token_text(json_object_get(stm, "unk_token"));
	if (unk == NULL)
		unk = "[UNK]";
	if ((id = lookup(t, 0, unk, strlen(unk))) < 0)
		errx(EXIT_DATAERR, "%s/vocab.txt: unknown token %s missing", dir,
		    unk);
	t->unk = (uint32_t)id;

	t->nhead = t->ntail = 0;
	if (pp != NULL && (ty = json_string_value(json_object_get(pp, "type"))) &&
	    strcmp(ty, "Sequence") == 0) {
		/* e.g. ByteLevel (offsets only) + TemplateProcessing: the one
		 * that adds tokens */
		const json_t *ps = json_object_get(pp, "processors"), *e, *pick = NULL;

		json_array_foreach(ps, i, e) {
			const char *et = json_string_value(json_object_get(e, "type"));
			if (et != NULL && strcmp(et, "ByteLevel") != 0)
				pick = e;
		}
		pp = pick;
	}
	if (pp != NULL && !json_is_null(pp)) {
		ty = json_string_value(json_object_get(pp, "type"));
		if (ty != NULL && strcmp(ty, "TemplateProcessing") == 0)
			template_single(t, dir, pp);
		else if (ty != NULL && (strcmp(ty, "RobertaProcessing") == 0 ||
		    strcmp(ty, "BertProcessing") == 0))
			template_clssep(t, dir, pp);
		else
			errx(EXIT_DATAERR, "%s/tokenizer.json: post_processor type "
			    "%s is not supported (TemplateProcessing, "
			    "RobertaProcessing, BertProcessing)", dir,
			    ty ? ty : "(none)");
	} else if (tj == NULL || json_object_get(tj, "post_processor") == NULL) {
		const char *cls = NULL, *sep = NULL;
		long ci, si;

		if (stm != NULL) {
			cls = token_text(json_object_get(stm, "cls_token"));
			sep = token_text(json_object_get(stm, "sep_token"));
		}
		cls = cls ? cls : "[CLS]";
		sep = sep ? sep : "[SEP]";
		if ((ci = special_id(t, cls)) < 0 || (si = special_id(t, sep)) < 0)
			errx(EXIT_DATAERR, "%s/vocab.txt: %s or %s missing", dir,
			    cls, sep);
		put_tpl(t->head, &t->nhead, ci, dir, cls);
		put_tpl(t->tail, &t->ntail, si, dir, sep);
	}
	/* an explicit "post_processor": null adds nothing */
	for (i = 0; i < t->nhead + t->ntail; i++) {
		uint32_t x = i < t->nhead ? t->head[i] : t->tail[i - t->nhead];
		if (x >= t->V)
			errx(EXIT_DATAERR, "%s/tokenizer.json: post_processor: "
			    "special token id %u is beyond vocab.txt's %zu tokens",
			    dir, x, t->V);
	}
}

/* config_sentence_transformers.json: "prompts" {name: text} and
 * "default_prompt_name" (null or one of them) */
static void
load_prompts(struct tok *t, const char *dir)
{
	json_t *c = load_json(dir, "config_sentence_transformers.json", 0);
	json_t *ps, *v, *d;
	const char *k;

	if (c == NULL)
		return;
	ps = json_object_get(c, "prompts");
	if (ps != NULL && !json_is_null(ps) && !json_is_object(ps))
		errx(EXIT_DATAERR, "%s/config_sentence_transformers.json: "
		    "\"prompts\": not an object", dir);
	t->prompts = xcalloc(json_object_size(ps) + 1, sizeof *t->prompts);
	json_object_foreach(ps, k, v) {
		if (!json_is_string(v))
			errx(EXIT_DATAERR, "%s/config_sentence_transformers.json: "
			    "prompt \"%s\": not a string", dir, k);
		t->prompts[t->nprompts].name = xstrdup(k);
		t->prompts[t->nprompts].text = xstrndup(json_string_value(v),
		    json_string_length(v));
		t->nprompts++;
	}
	d = json_object_get(c, "default_prompt_name");
	if (d != NULL && !json_is_null(d)) {
		if (!json_is_string(d) ||
		    tok_prompt(t, json_string_value(d)) == NULL)
			errx(EXIT_DATAERR, "%s/config_sentence_transformers.json: "
			    "\"default_prompt_name\": not one of the prompts", dir);
		for (size_t i = 0; i < t->nprompts; i++)
			if (strcmp(t->prompts[i].name, json_string_value(d)) == 0)
				t->default_prompt = t->prompts[i].name;
	}
	json_decref(c);
}

const char *
tok_prompt(const struct tok *t, const char *name)
{
	for (size_t i = 0; i < t->nprompts; i++)
		if (strcmp(t->prompts[i].name, name) == 0)
			return t->prompts[i].text;
	return NULL;
}

size_t
tok_prompt_len(struct tok *t, const char *prompt, uint32_t *ids)
{
	size_t n = 0, bad, i;

	if (prompt == NULL || *prompt == '\0' ||
	    tok_encode(t, prompt, strlen(prompt), ids, &n, &bad) != 0 || n == 0)
		return 0;
	for (i = 0; i < t->ntail; i++)
		if (ids[n - 1] == t->tail[i])
			return n - 1;
	for (i = 0; i < t->nspec; i++)
		if (ids[n - 1] == t->spec[i].id)
			return n - 1;
	return n;
}

void
tok_load(struct tok *t, const char *dir)
{
	char path[4096];
	char *v;
	size_t n;
	const char *base, *end;
	json_t *cfg, *st, *tj, *stm, *norm = NULL;
	int strip;

	memset(t, 0, sizeof *t);
	ascii_init();
	snprintf(path, sizeof path, "%s/vocab.txt", dir);
	if ((v = util_slurp(path, &n)) == NULL)
		err(EXIT_NOINPUT, "%s", path);
	parse_vocab(t, v, n);
	t->vocab_hash = util_fnv1a(v, n);
	free(v);
	if (t->V == 0)
		errx(EXIT_DATAERR, "%s: no tokens", path);
	build_table(t);

	/* model name: basename of dir, trailing slashes ignored */
	end = dir + strlen(dir);
	while (end > dir + 1 && end[-1] == '/')
		end--;
	for (base = end; base > dir && base[-1] != '/'; base--)
		;
	snprintf(t->model, sizeof t->model, "%.*s", (int)(end - base), base);

	tj = load_json(dir, "tokenizer.json", 0);
	cfg = load_json(dir, "tokenizer_config.json", 0);
	st = load_json(dir, "sentence_bert_config.json", 0);
	if (tj != NULL) {
		norm = json_object_get(tj, "normalizer");
		if (!json_is_object(norm))
			norm = NULL;
		load_added_tokens(t, tj);
	}
	if (t->spec == NULL)
		set_specials_default(t);
	spec_bitmap(t);
	stm = load_json(dir, "special_tokens_map.json", 0);
	load_template(t, dir, tj, stm);
	json_decref(stm);
	load_prompts(t, dir);
	/* transformers builds the normaliser from tokenizer_config.json's
	 * arguments (defaults: lower-case, accents follow it, CJK spacing);
	 * clean_text comes from tokenizer.json. */
	t->lower = jbool(cfg, "do_lower_case", 1, "tokenizer_config.json");
	strip = jbool(cfg, "strip_accents", -1, "tokenizer_config.json");
	t->strip_accents = strip < 0 ? t->lower : strip;
	t->chinese = jbool(cfg, "tokenize_chinese_chars", 1,
	    "tokenizer_config.json");
	t->clean = jbool(norm, "clean_text", 1, "tokenizer.json: normalizer");

	t->max_len = 512;
	if (cfg != NULL) {
		json_t *m = json_object_get(cfg, "model_max_length");

		if (json_is_integer(m) && json_integer_value(m) >= 2 &&
		    json_integer_value(m) <= 100000)
			t->max_len = (size_t)json_integer_value(m);
	}
	if (st != NULL) {
		json_t *m = json_object_get(st, "max_seq_length");

		if (m != NULL && !json_is_null(m)) {
			if (!json_is_integer(m) || json_integer_value(m) < 2 ||
			    json_integer_value(m) > 100000)
				errx(EXIT_DATAERR, "%s/sentence_bert_config.json: "
				    "\"max_seq_length\": not an integer in "
				    "[2, 100000]", dir);
			t->max_len = (size_t)json_integer_value(m);
		}
		/* sentence-transformers' own str.lower() before the tokenizer:
		 * the tokenizer's lowercase does the same but for added tokens
		 * and final sigma; with a cased tokenizer it is not supported */
		if (jbool(st, "do_lower_case", 0, "sentence_bert_config.json") &&
		    !t->lower)
			errx(EXIT_DATAERR, "%s/sentence_bert_config.json: "
			    "do_lower_case with a cased tokenizer is not supported",
			    dir);
	}
	json_decref(tj);
	json_decref(cfg);
	json_decref(st);
	t->wcap = 4 * (TOK_MAX_WORD_CHARS + 8) * 4;
	t->word = xmalloc(t->wcap);
	norm_specials(t);
}

void
tok_free(struct tok *t)
{
	size_t i;

	for (i = 0; i < t->nspec; i++)
		free((char *)t->spec[i].s);
	free(t->spec);
	for (i = 0; i < t->nnorm; i++) {
		free((char *)t->nspec_n[i].s);
		free(t->nspec_n[i].cp);
	}
	free(t->nspec_n);
	for (i = 0; i < t->nprompts; i++) {
		free(t->prompts[i].name);
		free(t->prompts[i].text);
	}
	free(t->prompts);
	free(t->blob);
	free(t->off);
	free(t->len);
	free(t->slot);
	free(t->pslot);
	free(t->pent);
	free(t->word);
	memset(t, 0, sizeof *t);
}

/* ---- encoding ---- */

struct enc {
	struct tok *t;
	uint32_t *ids;
	size_t nids, lim;	/* lim: room for ids before [SEP] */
	int full;
	char *w;		/* current word (normalised UTF-8) */
	size_t wlen, wchars;
	uint16_t pos[TOK_MAX_WORD_CHARS + 1];	/* char starts in w */
	char *out;		/* tok_words: words go here instead */
	size_t nout, cap;
};

static void
emit(struct enc *e, uint32_t id)
{
	if (e->nids < e->lim)
		e->ids[e->nids++] = id;
	else
		e->full = 1;
}

/* WordPiece: greedy longest match, "##" continuations */
static void
wordpiece(struct enc *e)
{
	struct tok *t = e->t;
	uint32_t piece[TOK_MAX_WORD_CHARS];
	size_t np = 0, start = 0, k;
	long id;

	if (e->wchars > TOK_MAX_WORD_CHARS) {
		emit(e, t->unk);
		return;
	}
	if ((id = lookup(t, 0, e->w, e->wlen)) >= 0) {
		emit(e, (uint32_t)id);
		return;
	}
	e->pos[e->wchars] = (uint16_t)e->wlen;
	while (start < e->wchars) {
		int cont = start > 0;
		uint32_t h = HSEED(cont);
		const char *s = e->w + e->pos[start];
		size_t end = 0, c, b;

		id = -1;
		for (c = start, b = e->pos[start]; c < e->wchars; c++) {
			const struct tok_prefix *p;

			for (; b < e->pos[c + 1]; b++)
				h = HSTEP(h, e->w[b]);
			p = pfind(t, cont, HMIX(h), s, b - e->pos[start]);
			if (p == NULL)
				break;
			if (p->tok >= 0) {
				id = p->tok;
				end = c + 1;
			}
		}
		if (id < 0) {
			emit(e, t->unk);
			return;
		}
		piece[np++] = (uint32_t)id;
		start = end;
	}
	for (k = 0; k < np; k++)
		emit(e, piece[k]);
}

/* tok_words: append a word and a space */
static void
put_out(struct enc *e, const char *w, size_t n)
{
	size_t k = n < e->cap - e->nout ? n : e->cap - e->nout;

	memcpy(e->out + e->nout, w, k);
	e->nout += k;
	if (e->nout < e->cap)
		e->out[e->nout++] = ' ';
}

static void
flush(struct enc *e)
{
	if (e->wlen == 0)
		return;
	if (e->out != NULL) {
		put_out(e, e->w, e->wlen);
	} else {
		wordpiece(e);
	}
	e->wlen = 0;
	e->wchars = 0;
}

/* append one normalised code point to the word; words past the UNK limit
 * only count their characters */
static void
put(struct enc *e, int32_t c)
{
	if (e->wchars < TOK_MAX_WORD_CHARS + 1) {
		e->pos[e->wchars] = (uint16_t)e->wlen;
		if (c < 0x80)
			e->w[e->wlen++] = (char)c;
		else
			e->wlen += (size_t)utf8proc_encode_char(c,
			    (utf8proc_uint8_t *)e->w + e->wlen);
	}
	e->wchars++;
}

/* pre-tokenise one normalised code point */
static void
pretok(struct enc *e, int32_t c)
{
	if (is_space(c)) {
		flush(e);
	} else if (is_punct(c)) {
		flush(e);
		put(e, c);
		flush(e);
	} else {
		put(e, c);
	}
}

static void
lower_pretok(struct enc *e, int32_t c)
{
	if (!e->t->lower) {
		pretok(e, c);
	} else if (c == 0x130) {	/* the one unconditional full mapping */
		pretok(e, 'i');
		pretok(e, 0x307);
	} else {
		pretok(e, uni_tolower(c));
	}
}

/* one raw non-ASCII code point through the normaliser and pre-tokeniser */
static void
codepoint(struct enc *e, int32_t c)
{
	struct tok *t = e->t;
	int chinese;

	if (t->clean) {
		if (c == 0xFFFD || is_control(c))
			return;
		if (is_space(c)) {
			flush(e);
			return;
		}
	}
	chinese = t->chinese && is_chinese(c);
	if (chinese)
		flush(e);
	if (t->strip_accents && uni_kind(c) != U_LETTER) {
		utf8proc_int32_t d[8];
		int last = 0;
		utf8proc_ssize_t k, nd;

		nd = utf8proc_decompose_char(c, d, 8, UTF8PROC_DECOMPOSE, &last);
		if (nd < 0 || nd > 8) {
			d[0] = c;
			nd = 1;
		}
		for (k = 0; k < nd; k++)
			if (!is_mn(d[k]))
				lower_pretok(e, d[k]);
	} else {
		lower_pretok(e, c);
	}
	if (chinese)
		flush(e);
}

/* What the normaliser makes of code point c (clean-up, CJK spacing,
 * accents, lower case), as codepoint() feeds it on: at most 16 code points
 * into out, whitespace as ' '; returns how many. */
static size_t
norm_cp(const struct tok *t, int32_t c, int32_t out[16])
{
	size_t n = 0;
	utf8proc_int32_t d[8];
	utf8proc_ssize_t k, nd = 1;
	int last = 0;

	if (c < 0x80) {
		switch (ascii_class[c]) {
		case A_DROP:
			if (t->clean)
				return 0;
			break;
		case A_SPACE:
			out[0] = ' ';
			return 1;
		}
		out[0] = t->lower && c >= 'A' && c <= 'Z' ? c + 32 : c;
		return 1;
	}
	if (t->clean && (c == 0xFFFD || is_control(c)))
		return 0;
	if (is_space(c)) {
		out[0] = ' ';
		return 1;
	}
	int chinese = t->chinese && is_chinese(c);
	if (chinese)
		out[n++] = ' ';
	d[0] = c;
	int strip = t->strip_accents && uni_kind(c) != U_LETTER;
	if (strip) {
		nd = utf8proc_decompose_char(c, d, 8, UTF8PROC_DECOMPOSE, &last);
		if (nd < 0 || nd > 8) {
			d[0] = c;
			nd = 1;
		}
	}
	for (k = 0; k < nd; k++) {
		if (strip && is_mn(d[k]))
			continue;
		if (!t->lower) {
			out[n++] = d[k];
		} else if (d[k] == 0x130) {
			out[n++] = 'i';
			out[n++] = 0x307;
		} else {
			out[n++] = uni_tolower(d[k]);
		}
	}
	if (chinese)
		out[n++] = ' ';
	return n;
}

/* the normalized added tokens' code points, normalised */
static void
norm_specials(struct tok *t)
{
	for (size_t i = 0; i < t->nnorm; i++) {
		struct tok_special *x = &t->nspec_n[i];
		const unsigned char *p = (const unsigned char *)x->s;
		size_t j = 0, len;
		int32_t o[16];

		x->cp = xcalloc(16 * x->n + 1, sizeof *x->cp);
		x->ncp = 0;
		if (tok_utf8_check(x->s, x->n) != x->n)
			continue;	/* never matches */
		while (j < x->n) {
			int32_t c = p[j] < 0x80 ? p[j] : utf8_get(p + j, &len);

			len = p[j] < 0x80 ? 1 : len;
			size_t k = norm_cp(t, c, o);
			memcpy(x->cp + x->ncp, o, k * sizeof *o);
			x->ncp += k;
			j += len;
		}
	}
}

/* the longest normalized added token that the normalised text from p on
 * starts with, ending at a code point boundary; *used: its raw bytes */
static const struct tok_special *
special_norm_at(const struct tok *t, const unsigned char *p, size_t left,
    size_t *used)
{
	const struct tok_special *best = NULL;

	for (size_t i = 0; i < t->nnorm; i++) {
		const struct tok_special *x = &t->nspec_n[i];
		size_t j = 0, m = 0, len;
		int32_t o[16];

		if (x->ncp == 0)
			continue;
		while (j < left && m < x->ncp) {
			int32_t c = p[j] < 0x80 ? p[j] : utf8_get(p + j, &len);
			size_t k = norm_cp(t, c, o), q;

			len = p[j] < 0x80 ? 1 : len;
			if (m == 0 && k == 0)
				break;	/* a match starts where text does */
			for (q = 0; q < k && m + q < x->ncp; q++)
				if (o[q] != x->cp[m + q])
					break;
			if (q < k)
				break;	/* mismatch, or the token ends inside */
			m += k;
			j += len;
		}
		if (m == x->ncp && (best == NULL || j > *used)) {
			best = x;
			*used = j;
		}
	}
	return best;
}

static const struct tok_special *
special_at(const struct tok *t, const unsigned char *p, size_t left)
{
	const struct tok_special *best = NULL;
	size_t i;

	for (i = 0; i < t->nspec; i++)
		if (t->spec[i].n <= left && memcmp(p, t->spec[i].s,
		    t->spec[i].n) == 0 && (best == NULL || t->spec[i].n > best->n))
			best = &t->spec[i];
	return best;
}

/* normalise and pre-tokenise valid UTF-8 s[0..n) into e */
static void
run(struct enc *ep, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	struct enc e = *ep;
	struct tok *t = e.t;
	size_t i;
	int lower = t->lower;

	for (i = 0; i < n && !e.full;) {
		unsigned b = p[i];

		if ((t->spec_first[b >> 3] >> (b & 7)) & 1) {
			const struct tok_special *sp = special_at(t, p + i, n - i);

			if (sp != NULL) {
				flush(&e);
				if (e.out != NULL) {
					put_out(&e, sp->s, sp->n);
				} else {
					emit(&e, sp->id);
				}
				i += sp->n;
				continue;
			}
		}
		if (t->nnorm > 0) {
			size_t used = 0;
			const struct tok_special *sp = special_norm_at(t, p + i,
			    n - i, &used);

			if (sp != NULL) {
				flush(&e);
				if (e.out != NULL)
					put_out(&e, sp->s, sp->n);
				else
					emit(&e, sp->id);
				i += used;
				continue;
			}
		}
		if (b < 0x80) {
			switch (ascii_class[b]) {
			case A_WORD:
				if (e.wchars < TOK_MAX_WORD_CHARS + 1) {
					e.pos[e.wchars] = (uint16_t)e.wlen;
					e.w[e.wlen++] = (char)(lower && b >= 'A' &&
					    b <= 'Z' ? b + 32 : b);
				}
				e.wchars++;
				break;
			case A_SPACE:
				flush(&e);
				break;
			case A_PUNCT:
				flush(&e);
				put(&e, (int32_t)b);
				flush(&e);
				break;
			default:
				if (t->clean)
					break;
				if (is_space((int32_t)b))
					flush(&e);
				else
					put(&e, (int32_t)b);
				break;
			}
			i++;
		} else {
			size_t len;
			int32_t c = utf8_get(p + i, &len);

			codepoint(&e, c);
			i += len;
		}
	}
	if (!e.full)
		flush(&e);
	*ep = e;
}

int
tok_encode(struct tok *t, const char *s, size_t n, uint32_t *ids,
    size_t *nids, size_t *bad)
{
	struct enc e;
	size_t v;

	if ((v = tok_utf8_check(s, n)) != n) {
		*bad = v;
		*nids = 0;
		return -1;
	}
	memset(&e, 0, sizeof e);
	e.t = t;
	e.ids = ids;
	e.lim = t->max_len > t->nhead + t->ntail ? t->max_len - t->ntail :
	    t->nhead;
	e.w = t->word;
	memcpy(ids, t->head, t->nhead * sizeof *ids);
	e.nids = t->nhead;
	run(&e, s, n);
	memcpy(ids + e.nids, t->tail, t->ntail * sizeof *ids);
	e.nids += t->ntail;
	*nids = e.nids;
	return 0;
}

size_t
tok_words(struct tok *t, const char *s, size_t n, char *out, size_t cap)
{
	struct enc e;

	if (cap == 0 || tok_utf8_check(s, n) != n)
		return 0;
	memset(&e, 0, sizeof e);
	e.t = t;
	e.w = t->word;
	e.out = out;
	e.cap = cap;
	run(&e, s, n);
	if (e.nout > 0 && out[e.nout - 1] == ' ')
		e.nout--;
	return e.nout;
}
