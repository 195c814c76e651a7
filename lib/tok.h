/* tok: BERT tokenizer (basic + WordPiece) as Hugging Face's fast tokenizer
 * (the Rust `tokenizers` crate) does it, over utf8proc.
 *
 * Per text: special (added) tokens are matched in the raw text first (those
 * tokenizer.json marks "normalized", in the normalized text), then
 * each remaining piece is cleaned (NUL, U+FFFD and control characters
 * dropped, whitespace -> space), CJK ideographs are spaced, accents are
 * stripped (NFD, drop Mn), letters lowercased, words split on whitespace and
 * punctuation, and each word is cut into the longest vocabulary pieces
 * (continuations prefixed "##"); a word of more than 100 characters, or one
 * that cannot be cut, becomes the unknown token.  The special tokens around
 * the ids come from the model directory: tokenizer.json's post_processor
 * (TemplateProcessing: [CLS] A [SEP]; RobertaProcessing: <s> A </s>), else
 * special_tokens_map.json's cls_token and sep_token, else [CLS] and [SEP]. */
#ifndef TOK_H
#define TOK_H

#include <stddef.h>
#include <stdint.h>

#define TOK_MAX_WORD_CHARS 100	/* max_input_chars_per_word */
#define TOK_MAX_TPL 4		/* special ids before (after) a text, at most */

struct tok_special {
	const char *s;		/* added token text, matched in the raw text */
	size_t n;
	uint32_t id;
	int32_t *cp;		/* a "normalized" one: its normalized code
				 * points, matched in the normalized text */
	size_t ncp;
};

struct tok_prompt {
	char *name, *text;	/* config_sentence_transformers.json's prompts */
};

struct tok_prefix {
	uint32_t h;		/* hash of (continuation, prefix bytes) */
	uint32_t src;		/* a token whose key starts with the prefix */
	uint16_t len;		/* prefix length in bytes */
	uint8_t cont;		/* continuation ("##") key space */
	int32_t tok;		/* id of the token the prefix spells, or -1 */
};

struct tok {
	/* vocabulary: tokens back to back, NUL-terminated, in id order */
	char *blob;
	uint32_t *off;		/* off[id]: offset of token id in blob */
	uint32_t *len;		/* len[id]: its length in bytes */
	size_t V;		/* number of ids (lines of vocab.txt) */
	uint64_t vocab_hash;	/* FNV-1a 64 of vocab.txt's bytes */
	/* hash table: slot = hash << 32 | id+1 (0 empty);
	 * key = (continuation, bytes) */
	uint64_t *slot;
	size_t mask;
	size_t maxkey;		/* longest key in bytes */
	/* prefixes of keys, for WordPiece's longest match */
	struct tok_prefix *pent;
	size_t npent;
	uint64_t *pslot;	/* slot = hash << 32 | pent index+1 (0 empty) */
	size_t pmask;
	/* options */
	int lower, strip_accents, chinese, clean;
	uint32_t unk;		/* WordPiece's unk_token */
	uint32_t head[TOK_MAX_TPL], tail[TOK_MAX_TPL];	/* ids around a text */
	size_t nhead, ntail;
	size_t max_len;		/* ids per text, head and tail included */
	struct tok_special *spec;
	size_t nspec;
	struct tok_special *nspec_n;	/* the normalized added tokens */
	size_t nnorm;
	unsigned char spec_first[32];	/* bitmap of special tokens' first bytes */
	char model[256];	/* basename of the model directory */
	struct tok_prompt *prompts;	/* "prompts", in file order */
	size_t nprompts;
	const char *default_prompt;	/* "default_prompt_name", or NULL */
	/* per-text scratch */
	char *word;
	size_t wcap;
};

/* Load MODEL_DIR/vocab.txt and the tokenizer settings of
 * tokenizer_config.json, tokenizer.json, special_tokens_map.json,
 * sentence_bert_config.json and config_sentence_transformers.json (the
 * prompts).  Exits 66 if the directory or vocab.txt cannot
 * be read, 65 if a file is malformed, asks for what is not supported (a
 * model other than WordPiece, another post_processor), or a special token
 * is missing from the vocabulary. */
void tok_load(struct tok *t, const char *dir);
void tok_free(struct tok *t);

/* Load from a vocabulary in memory (one token a line) with explicit options
 * and [CLS] A [SEP]; for tests.  Returns 0, or -1 if [CLS], [SEP] or [UNK]
 * is missing. */
int tok_init(struct tok *t, const char *vocab, size_t n, int lower,
    int strip_accents, size_t max_len);

/* Encode UTF-8 text s[0..n) into ids[0..*nids), at most t->max_len ids
 * (ids must hold that many; max_len > nhead + ntail), the special ids
 * around the text included.  Returns 0, or -1
 * if s is not valid UTF-8, with *bad set to the offending byte offset. */
int tok_encode(struct tok *t, const char *s, size_t n, uint32_t *ids,
    size_t *nids, size_t *bad);

/* The basic tokenizer alone (normalise, split; no WordPiece, no truncation):
 * the words of valid UTF-8 s[0..n), separated by single spaces, into
 * out[0..cap); returns the length written (0 for invalid UTF-8). */
size_t tok_words(struct tok *t, const char *s, size_t n, char *out, size_t cap);

/* The text of prompt name (config_sentence_transformers.json), or NULL. */
const char *tok_prompt(const struct tok *t, const char *name);
/* How many ids a prompt puts at the start of every text (the head tokens
 * and the prompt's own, as sentence-transformers' prompt_length: the
 * prompt tokenized alone, less a trailing special token).  ids: scratch
 * of t->max_len. */
size_t tok_prompt_len(struct tok *t, const char *prompt, uint32_t *ids);

/* Id of a token, or -1 if absent. */
long tok_id(const struct tok *t, const char *s, size_t n);

/* Offset of the first invalid UTF-8 sequence in s[0..n), or n if valid
 * (overlong forms, surrogates and code points above U+10FFFF are invalid). */
size_t tok_utf8_check(const char *s, size_t n);

#endif
