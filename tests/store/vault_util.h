/*
 * vault_util.h: what the vault tests share: temporary folders, file
 * snapshots, a standard data set written to a vault and checked back.
 */
#ifndef EK_VAULT_UTIL_H
#define EK_VAULT_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <enkrypt/ek_vault.h>

/* Cheap Argon2id for tests (t = 1, m = 64 KiB). */
ek_vault_options vt_opts(void);

/* A fresh folder under /tmp (free() the result; vt_rmtree removes it). */
char *vt_tempdir(void);
/* dir + "/" + name (free() it). */
char *vt_join(const char *dir, const char *name);
/* Remove the files of dir (not recursive) and dir itself. */
void vt_rmtree(const char *dir);
/* Read a whole file (free() it); NULL if it does not exist. */
uint8_t *vt_read(const char *path, size_t *len);
/* Write a whole file (replace); 0 or -1. */
int vt_write(const char *path, const void *buf, size_t len);
/* Copy a file; 0 or -1. */
int vt_copy(const char *from, const char *to);

/* Every file of a folder, names and contents. */
typedef struct vt_snapshot {
    size_t n;
    char *names[32];
    uint8_t *data[32];
    size_t lens[32];
} vt_snapshot;

void vt_snap(vt_snapshot *s, const char *dir);
/* 1 if both hold the same files with the same bytes. */
int vt_snap_equal(const vt_snapshot *a, const vt_snapshot *b);
void vt_snap_free(vt_snapshot *s);

/* The standard data set: every kind of record, derived from a seed. */
#define VT_N_MESSAGES 24
#define VT_N_OUTBOX   5
#define VT_BLOB_LEN   3000
/* How many checks vt_verify makes. */
#define VT_TOTAL      39u

/* Write the data set (one call per record, each its own transaction). */
void vt_fill(ek_vault *v, uint32_t seed);

/* Read everything back and compare with the data set of seed. */
typedef struct vt_result {
    unsigned same;       /* read back and equal */
    unsigned errors;     /* a clean error (see bad_errors) */
    unsigned wrong;      /* read back but different: must never happen */
    unsigned bad_errors; /* an error other than CORRUPT / NOT_FOUND */
    int last_error;
} vt_result;

void vt_verify(ek_vault *v, uint32_t seed, vt_result *res);

/* The data set's values, for tests that look for them on disk. */
void vt_message_body(char *out, size_t cap, uint32_t seed, unsigned i);
void vt_blob(uint8_t *out, size_t len, uint32_t seed, unsigned which);

#endif
