/*
 * A stand-in for WeCom's closed Finance SDK (libWeWorkFinanceSdk_C.so), for tests only.
 *
 * It exports exactly the functions and structs of the official WeWorkFinanceSdk_C.h, so the
 * bot's ctypes reader can be exercised end to end without WeCom. Records come from a feed
 * directory that the test writes (see README.md next to this file). Each record's random key
 * is RSA-encrypted (PKCS#1 v1.5) with the test's public key, as WeCom does; the message itself
 * is sealed with this stand-in's own scheme, because the real SDK's cipher is closed:
 *
 *   aes_key          = SHA-256(random key string)            (the string is 32 hex chars)
 *   encrypt_chat_msg = base64(nonce[12] || AES-256-GCM ciphertext || tag[16])
 *
 * GCM is used rather than CBC so that DecryptData with a wrong key fails every time, instead of
 * passing by chance whenever garbage happens to end in valid padding.
 *
 * Build: cc -shared -fPIC -O2 -Wall -Wextra -o libWeWorkFinanceSdk_C.so standin.c -lcrypto
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

/* ---- the official header's types ---------------------------------------------------- */

typedef struct WeWorkFinanceSdk_t WeWorkFinanceSdk_t;

typedef struct Slice_t {
    char *buf;
    int len;
} Slice_t;

typedef struct MediaData {
    char *outindexbuf;
    int out_len;
    char *data;
    int data_len;
    int is_finish;
} MediaData_t;

/* Return codes, as listed in the official header. */
enum {
    OK = 0,
    E_PARAM = 10000,      /* 参数错误 */
    E_NETWORK = 10001,    /* 网络错误 */
    E_PARSE = 10002,      /* 数据解析失败 */
    E_SYSTEM = 10003,     /* 系统失败 */
    E_KEY = 10004,        /* 密钥错误导致加密失败 */
    E_FILEID = 10005,     /* fileid错误 */
    E_DECRYPT = 10006,    /* 解密失败 */
    E_ENCRYPT_KEY = 10008 /* 解析encrypt_key出错 */
};

#define FEED_ENV "XIAOWEI_FINANCE_FEED"
#define MAX_LIMIT 1000u
#define MEDIA_CHUNK (512 * 1024)
#define KEY_HEX_LEN 32
#define NONCE_LEN 12
#define TAG_LEN 16
#define INDEX_PREFIX "standin-offset:"

struct WeWorkFinanceSdk_t {
    int initialized;
    char feed[PATH_MAX];
};

/* ---- small helpers ------------------------------------------------------------------ */

/* A growable byte buffer, for building the GetChatData JSON. */
typedef struct {
    char *p;
    size_t len, cap;
    int failed;
} Buf;

static void buf_put(Buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_puts(Buf *b, const char *s) { buf_put(b, s, strlen(s)); }

/* JSON string escaping: the msgid comes from the test's file and may hold anything. */
static void buf_put_json_string(Buf *b, const char *s)
{
    buf_puts(b, "\"");
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        char esc[8];
        if (*c == '"' || *c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*c;
            buf_put(b, esc, 2);
        } else if (*c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", *c);
            buf_puts(b, esc);
        } else {
            buf_put(b, (const char *)c, 1);
        }
    }
    buf_puts(b, "\"");
}

/* Reads a whole file; NULL if it does not exist or cannot be read. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    Buf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_put(&b, chunk, n);
    int bad = ferror(f) || b.failed;
    fclose(f);
    if (bad) {
        free(b.p);
        return NULL;
    }
    if (!b.p) { /* empty file */
        b.p = calloc(1, 1);
        if (!b.p)
            return NULL;
    }
    *len = b.len;
    return b.p;
}

static int feed_path(char *out, size_t size, const char *feed, const char *name)
{
    int n = snprintf(out, size, "%s/%s", feed, name);
    return n > 0 && (size_t)n < size;
}

/* Hands a malloc'd buffer to a Slice, releasing what it held before. */
static void slice_take(Slice_t *slice, char *p, size_t len)
{
    free(slice->buf);
    slice->buf = p;
    slice->len = (int)len;
}

static char *b64_encode(const unsigned char *in, size_t len)
{
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    if (out)
        EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    return out;
}

/* Strict base64 decoding; NULL on malformed input. */
static unsigned char *b64_decode(const char *in, size_t *outlen)
{
    size_t len = strlen(in);
    if (len == 0 || len % 4 != 0 || len > INT_MAX)
        return NULL;
    unsigned char *out = malloc(len / 4 * 3 + 1);
    if (!out)
        return NULL;
    int n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
    if (n < 0) {
        free(out);
        return NULL;
    }
    /* EVP_DecodeBlock counts the '=' padding as zero bytes; drop them. */
    size_t pad = (in[len - 1] == '=') + (len > 1 && in[len - 2] == '=');
    *outlen = (size_t)n - pad;
    return out;
}

static int aes_key_from(const char *key_string, unsigned char key[32])
{
    unsigned int n = 0;
    return EVP_Digest(key_string, strlen(key_string), key, &n, EVP_sha256(), NULL) == 1 && n == 32;
}

/* Seals plaintext under key_string; returns base64(nonce || ciphertext || tag) or NULL. */
static char *seal(const char *key_string, const unsigned char *plain, size_t len)
{
    unsigned char key[32];
    unsigned char *out = malloc(NONCE_LEN + len + TAG_LEN);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    char *result = NULL;
    int n = 0, fin = 0;
    if (!out || !ctx || !aes_key_from(key_string, key) || RAND_bytes(out, NONCE_LEN) != 1)
        goto done;
    if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, out) != 1 ||
        EVP_EncryptUpdate(ctx, out + NONCE_LEN, &n, plain, (int)len) != 1 ||
        EVP_EncryptFinal_ex(ctx, out + NONCE_LEN + n, &fin) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, out + NONCE_LEN + n + fin) != 1)
        goto done;
    result = b64_encode(out, NONCE_LEN + (size_t)n + (size_t)fin + TAG_LEN);
done:
    EVP_CIPHER_CTX_free(ctx);
    free(out);
    return result;
}

/* The inverse of seal(); returns a NUL-terminated malloc'd plaintext, or an error code. */
static int unseal(const char *key_string, const char *sealed, char **plain, size_t *plain_len)
{
    unsigned char key[32];
    size_t len = 0;
    unsigned char *raw = b64_decode(sealed, &len);
    if (!raw)
        return E_PARSE;
    if (len < NONCE_LEN + TAG_LEN) {
        free(raw);
        return E_PARSE;
    }
    size_t body = len - NONCE_LEN - TAG_LEN;
    char *out = malloc(body + 1);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int rc = E_SYSTEM, n = 0, fin = 0;
    if (!out || !ctx || !aes_key_from(key_string, key))
        goto done;
    if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, raw) != 1 ||
        EVP_DecryptUpdate(ctx, (unsigned char *)out, &n, raw + NONCE_LEN, (int)body) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, raw + NONCE_LEN + body) != 1)
        goto done;
    if (EVP_DecryptFinal_ex(ctx, (unsigned char *)out + n, &fin) != 1) {
        rc = E_DECRYPT; /* the tag does not match: wrong key or tampered message */
        goto done;
    }
    out[n + fin] = '\0';
    *plain = out;
    *plain_len = (size_t)(n + fin);
    out = NULL;
    rc = OK;
done:
    EVP_CIPHER_CTX_free(ctx);
    free(out);
    free(raw);
    return rc;
}

/* ---- the feed ----------------------------------------------------------------------- */

typedef struct {
    unsigned long long seq;
    unsigned long ver;
    const char *msgid;
    const char *b64_plain;
} Record;

static int by_seq(const void *a, const void *b)
{
    unsigned long long x = ((const Record *)a)->seq, y = ((const Record *)b)->seq;
    return (x > y) - (x < y);
}

/* Splits records.tsv (edited in place) into records sorted by seq. Returns a code. */
static int parse_records(char *text, Record **out, size_t *count)
{
    size_t cap = 0, n = 0;
    Record *recs = NULL;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        size_t l = strlen(line);
        if (l && line[l - 1] == '\r')
            line[--l] = '\0';
        if (l == 0)
            continue;
        char *f[4];
        int k = 0;
        for (char *p = line; k < 4; k++) {
            f[k] = p;
            char *tab = strchr(p, '\t');
            if (k < 3) {
                if (!tab) {
                    free(recs);
                    return E_PARSE;
                }
                *tab = '\0';
                p = tab + 1;
            }
        }
        char *end;
        errno = 0;
        Record r = {.msgid = f[1], .b64_plain = f[3]};
        r.seq = strtoull(f[0], &end, 10);
        if (errno || *end || end == f[0]) {
            free(recs);
            return E_PARSE;
        }
        r.ver = strtoul(f[2], &end, 10);
        if (errno || *end || end == f[2]) {
            free(recs);
            return E_PARSE;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            Record *grown = realloc(recs, cap * sizeof *recs);
            if (!grown) {
                free(recs);
                return E_SYSTEM;
            }
            recs = grown;
        }
        recs[n++] = r;
    }
    if (n)
        qsort(recs, n, sizeof *recs, by_seq);
    *out = recs;
    *count = n;
    return OK;
}

/* Takes the first line of the feed's `faults` file, rewriting the file without it.
 * Returns the code to fail this call with, or 0. */
static int take_fault(const char *feed)
{
    char path[PATH_MAX];
    size_t len = 0;
    if (!feed_path(path, sizeof path, feed, "faults"))
        return E_SYSTEM;
    char *text = read_file(path, &len);
    if (!text)
        return OK;
    char *nl = strchr(text, '\n');
    char *rest = nl ? nl + 1 : text + len;
    if (nl)
        *nl = '\0';
    int code = atoi(text);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(rest, 1, strlen(rest), f);
        fclose(f);
    }
    free(text);
    return code;
}

/* Public keys used within one GetChatData call, so each PEM is read once per call. */
typedef struct {
    unsigned long ver;
    EVP_PKEY *key;
} KeyCache;

static EVP_PKEY *public_key(const char *feed, unsigned long ver, KeyCache *cache, size_t *n, size_t cap)
{
    for (size_t i = 0; i < *n; i++)
        if (cache[i].ver == ver)
            return cache[i].key;
    if (*n == cap)
        return NULL;
    char name[64], path[PATH_MAX];
    snprintf(name, sizeof name, "pubkey_%lu.pem", ver);
    if (!feed_path(path, sizeof path, feed, name))
        return NULL;
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    EVP_PKEY *key = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    if (key)
        cache[(*n)++] = (KeyCache){ver, key};
    return key;
}

/* RSA PKCS#1 v1.5 encryption of the key string, base64-encoded; NULL on failure. */
static char *rsa_encrypt_b64(EVP_PKEY *key, const char *text)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
    unsigned char *out = NULL;
    char *result = NULL;
    size_t len = 0;
    if (!ctx || EVP_PKEY_encrypt_init(ctx) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 ||
        EVP_PKEY_encrypt(ctx, NULL, &len, (const unsigned char *)text, strlen(text)) != 1)
        goto done;
    out = malloc(len);
    if (out && EVP_PKEY_encrypt(ctx, out, &len, (const unsigned char *)text, strlen(text)) == 1)
        result = b64_encode(out, len);
done:
    free(out);
    EVP_PKEY_CTX_free(ctx);
    return result;
}

static int random_key_string(char out[KEY_HEX_LEN + 1])
{
    unsigned char raw[KEY_HEX_LEN / 2];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return 0;
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    return 1;
}

/* Appends one chatdata entry for a record. Returns a code. */
static int put_record(Buf *json, const char *feed, const Record *r, KeyCache *cache, size_t *ncache,
                      size_t cap)
{
    size_t plain_len = 0;
    unsigned char *plain = b64_decode(r->b64_plain, &plain_len);
    if (!plain)
        return E_PARSE;
    char key_string[KEY_HEX_LEN + 1];
    EVP_PKEY *key = public_key(feed, r->ver, cache, ncache, cap);
    char *sealed = NULL, *wrapped = NULL;
    int rc = E_KEY;
    if (key && random_key_string(key_string)) {
        sealed = seal(key_string, plain, plain_len);
        wrapped = rsa_encrypt_b64(key, key_string);
    }
    if (sealed && wrapped) {
        char num[64];
        snprintf(num, sizeof num, "{\"seq\":%llu,\"msgid\":", r->seq);
        buf_puts(json, num);
        buf_put_json_string(json, r->msgid);
        snprintf(num, sizeof num, ",\"publickey_ver\":%lu,\"encrypt_random_key\":\"", r->ver);
        buf_puts(json, num);
        buf_puts(json, wrapped);
        buf_puts(json, "\",\"encrypt_chat_msg\":\"");
        buf_puts(json, sealed);
        buf_puts(json, "\"}");
        rc = OK;
    }
    free(plain);
    free(sealed);
    free(wrapped);
    return rc;
}

/* ---- the official API ------------------------------------------------------------------ */

WeWorkFinanceSdk_t *NewSdk(void) { return calloc(1, sizeof(WeWorkFinanceSdk_t)); }

void DestroySdk(WeWorkFinanceSdk_t *sdk) { free(sdk); }

int Init(WeWorkFinanceSdk_t *sdk, const char *corpid, const char *secret)
{
    const char *feed = getenv(FEED_ENV);
    if (!sdk || !corpid || !*corpid || !secret)
        return E_PARAM;
    if (!feed || !*feed || strlen(feed) >= sizeof sdk->feed)
        return E_SYSTEM; /* the test forgot to point us at a feed */
    char path[PATH_MAX];
    size_t len = 0;
    if (!feed_path(path, sizeof path, feed, "secret"))
        return E_SYSTEM;
    char *expected = read_file(path, &len);
    if (expected) {
        /* The file may end with a newline; the secret itself never does. */
        while (len && (expected[len - 1] == '\n' || expected[len - 1] == '\r'))
            expected[--len] = '\0';
        int wrong = strcmp(expected, secret) != 0;
        free(expected);
        if (wrong)
            return E_PARAM;
    }
    strcpy(sdk->feed, feed);
    sdk->initialized = 1;
    return OK;
}

int GetChatData(WeWorkFinanceSdk_t *sdk, unsigned long long seq, unsigned int limit, const char *proxy,
                const char *passwd, int timeout, Slice_t *chatDatas)
{
    (void)proxy, (void)passwd, (void)timeout; /* nothing goes over the network here */
    if (!sdk || !sdk->initialized || !chatDatas || limit > MAX_LIMIT)
        return E_PARAM;
    /* Re-read the variable so a test may move the feed; fall back to Init's. */
    const char *feed = getenv(FEED_ENV);
    if (!feed || !*feed)
        feed = sdk->feed;
    int rc = take_fault(feed);
    if (rc != OK)
        return rc;

    char path[PATH_MAX];
    size_t len = 0, count = 0;
    if (!feed_path(path, sizeof path, feed, "records.tsv"))
        return E_SYSTEM;
    char *text = read_file(path, &len);
    if (!text)
        text = calloc(1, 1); /* no records yet */
    if (!text)
        return E_SYSTEM;
    Record *recs = NULL;
    rc = parse_records(text, &recs, &count);

    KeyCache cache[32];
    size_t ncache = 0;
    Buf json = {0};
    buf_puts(&json, "{\"errcode\":0,\"errmsg\":\"ok\",\"chatdata\":[");
    unsigned int served = 0;
    for (size_t i = 0; rc == OK && i < count && served < limit; i++) {
        if (recs[i].seq <= seq)
            continue;
        if (served++)
            buf_puts(&json, ",");
        rc = put_record(&json, feed, &recs[i], cache, &ncache, sizeof cache / sizeof cache[0]);
    }
    buf_puts(&json, "]}");
    if (rc == OK && json.failed)
        rc = E_SYSTEM;
    if (rc == OK) {
        slice_take(chatDatas, json.p, json.len);
        json.p = NULL;
    }
    for (size_t i = 0; i < ncache; i++)
        EVP_PKEY_free(cache[i].key);
    free(json.p);
    free(recs);
    free(text);
    return rc;
}

int DecryptData(const char *encrypt_key, const char *encrypt_msg, Slice_t *msg)
{
    if (!msg || !encrypt_msg)
        return E_PARAM;
    if (!encrypt_key || !*encrypt_key)
        return E_ENCRYPT_KEY;
    char *plain = NULL;
    size_t len = 0;
    int rc = unseal(encrypt_key, encrypt_msg, &plain, &len);
    if (rc == OK)
        slice_take(msg, plain, len);
    return rc;
}

/* A file id names a file in the feed directory, so refuse anything that could leave it. */
static int fileid_ok(const char *id)
{
    return id && *id && !strchr(id, '/') && strcmp(id, ".") != 0 && strcmp(id, "..") != 0;
}

int GetMediaData(WeWorkFinanceSdk_t *sdk, const char *indexbuf, const char *sdkFileid, const char *proxy,
                 const char *passwd, int timeout, MediaData_t *media_data)
{
    (void)proxy, (void)passwd, (void)timeout;
    if (!sdk || !sdk->initialized || !media_data)
        return E_PARAM;
    if (!fileid_ok(sdkFileid))
        return E_FILEID;

    /* Parse the index before touching media_data: callers often pass its own outindexbuf back. */
    long long offset = 0;
    if (indexbuf && *indexbuf) {
        size_t plen = strlen(INDEX_PREFIX);
        char *end;
        if (strncmp(indexbuf, INDEX_PREFIX, plen) != 0)
            return E_PARAM;
        errno = 0;
        offset = strtoll(indexbuf + plen, &end, 10);
        if (errno || *end || end == indexbuf + plen || offset < 0)
            return E_PARAM;
    }

    char name[PATH_MAX], path[PATH_MAX];
    if (snprintf(name, sizeof name, "media_%s", sdkFileid) >= (int)sizeof name ||
        !feed_path(path, sizeof path, sdk->feed, name))
        return E_FILEID;
    FILE *f = fopen(path, "rb");
    if (!f)
        return E_FILEID;
    char *data = malloc(MEDIA_CHUNK);
    char *index = malloc(64);
    size_t got = 0;
    int rc = E_SYSTEM, at_end = 0;
    if (data && index && fseeko(f, (off_t)offset, SEEK_SET) == 0) {
        got = fread(data, 1, MEDIA_CHUNK, f);
        /* Finished when this chunk reaches the end of the file. */
        at_end = got < MEDIA_CHUNK || fgetc(f) == EOF;
        rc = ferror(f) ? E_SYSTEM : OK;
    }
    fclose(f);
    if (rc != OK) {
        free(data);
        free(index);
        return rc;
    }
    snprintf(index, 64, INDEX_PREFIX "%lld", offset + (long long)got);
    free(media_data->data);
    free(media_data->outindexbuf);
    media_data->data = data;
    media_data->data_len = (int)got;
    media_data->outindexbuf = index;
    media_data->out_len = (int)strlen(index);
    media_data->is_finish = at_end;
    return OK;
}

Slice_t *NewSlice(void) { return calloc(1, sizeof(Slice_t)); }

void FreeSlice(Slice_t *slice)
{
    if (slice)
        free(slice->buf);
    free(slice);
}

char *GetContentFromSlice(Slice_t *slice) { return slice ? slice->buf : NULL; }

int GetSliceLen(Slice_t *slice) { return slice ? slice->len : 0; }

MediaData_t *NewMediaData(void) { return calloc(1, sizeof(MediaData_t)); }

void FreeMediaData(MediaData_t *media_data)
{
    if (media_data) {
        free(media_data->outindexbuf);
        free(media_data->data);
    }
    free(media_data);
}

char *GetOutIndexBuf(MediaData_t *media_data) { return media_data ? media_data->outindexbuf : NULL; }

char *GetData(MediaData_t *media_data) { return media_data ? media_data->data : NULL; }

int GetIndexLen(MediaData_t *media_data) { return media_data ? media_data->out_len : 0; }

int GetDataLen(MediaData_t *media_data) { return media_data ? media_data->data_len : 0; }

int IsMediaDataFinish(MediaData_t *media_data) { return media_data ? media_data->is_finish : 0; }
