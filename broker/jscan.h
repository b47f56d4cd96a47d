/*
 * jscan.h: the validating JSON scanner of the relay path.
 *
 * A client frame is checked against RFC 8259 in one pass (strings must be
 * valid UTF-8 without raw control characters; nesting at most
 * BK_JSON_MAX_DEPTH) and the scanner returns where the top-level "type",
 * "dst" and "payload" members are. Nothing is allocated and nothing is
 * copied: the relay forwards the payload's bytes exactly as they arrived.
 * The configuration file, which is not on the hot path, goes through jansson.
 */
#ifndef BK_JSCAN_H
#define BK_JSCAN_H

#include <stdbool.h>
#include <stddef.h>

#define BK_JSON_MAX_DEPTH 64

typedef struct bk_jspan {
    const unsigned char *p;
    size_t len;
} bk_jspan;

enum bk_jkind { BK_J_NONE = 0, BK_J_STRING, BK_J_OTHER };

typedef struct bk_frame {
    enum bk_jkind type_kind;
    bk_jspan type; /* the whole token, quotes included */
    enum bk_jkind dst_kind;
    bk_jspan dst;
    bool has_payload;
    bk_jspan payload; /* the whole value token */
} bk_frame;

/* 0 if buf holds exactly one JSON object (whitespace around it allowed);
 * -1 if it is not valid JSON or not an object. A repeated member: the last
 * one wins, as with JSON.parse. */
int bk_jscan_frame(bk_frame *f, const unsigned char *buf, size_t len);

/* Decode a string token (quotes included, already validated by the scanner)
 * into out. Returns the decoded length, or -1 if it needs more than cap
 * bytes. Unpaired surrogate escapes decode as U+FFFD. */
long bk_json_unescape(char *out, size_t cap, bk_jspan tok);

/* Write s as a JSON string token into out, quotes included; out must have
 * room for bk_json_escaped_len(s, len) bytes. Returns the bytes written. */
size_t bk_json_escape(char *out, const char *s, size_t len);
size_t bk_json_escaped_len(const char *s, size_t len);

/* true if s is valid UTF-8 (RFC 3629: no overlongs, surrogates or > U+10FFFF). */
bool bk_utf8_valid(const unsigned char *s, size_t len);

#endif
