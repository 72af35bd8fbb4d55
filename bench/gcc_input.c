/* gcc_input.c: a self-contained C file for the compiler workload (d).
 *
 * It is only compiled (gcc -O2 -c), never run. It includes a few standard
 * headers so the compiler has a realistic number of files to find, and holds
 * enough ordinary code (a tokenizer, a recursive-descent evaluator, a hash
 * table, a sort) to give the optimiser some work. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum token_kind { TOK_END, TOK_NUMBER, TOK_NAME, TOK_OP, TOK_LPAREN, TOK_RPAREN, TOK_ERROR };

struct token {
    enum token_kind kind;
    double number;
    char text[32];
};

struct lexer {
    const char *input;
    size_t pos;
    struct token current;
};

struct entry {
    char *key;
    double value;
    struct entry *next;
};

struct table {
    struct entry **buckets;
    size_t size;
    size_t count;
};

static uint64_t hash_text(const char *text)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *text != '\0'; text++) {
        h ^= (unsigned char)*text;
        h *= 1099511628211ULL;
    }
    return h;
}

static int table_init(struct table *t, size_t size)
{
    t->buckets = calloc(size, sizeof *t->buckets);
    t->size = size;
    t->count = 0;
    return t->buckets == NULL ? -1 : 0;
}

static void table_free(struct table *t)
{
    for (size_t i = 0; i < t->size; i++) {
        struct entry *e = t->buckets[i];
        while (e != NULL) {
            struct entry *next = e->next;
            free(e->key);
            free(e);
            e = next;
        }
    }
    free(t->buckets);
}

static struct entry *table_find(const struct table *t, const char *key)
{
    struct entry *e = t->buckets[hash_text(key) % t->size];
    while (e != NULL && strcmp(e->key, key) != 0)
        e = e->next;
    return e;
}

static int table_grow(struct table *t)
{
    struct table bigger;
    if (table_init(&bigger, t->size * 2) != 0)
        return -1;
    for (size_t i = 0; i < t->size; i++) {
        struct entry *e = t->buckets[i];
        while (e != NULL) {
            struct entry *next = e->next;
            size_t slot = hash_text(e->key) % bigger.size;
            e->next = bigger.buckets[slot];
            bigger.buckets[slot] = e;
            e = next;
        }
    }
    bigger.count = t->count;
    free(t->buckets);
    *t = bigger;
    return 0;
}

static int table_set(struct table *t, const char *key, double value)
{
    struct entry *e = table_find(t, key);
    if (e != NULL) {
        e->value = value;
        return 0;
    }
    if (t->count * 4 >= t->size * 3 && table_grow(t) != 0)
        return -1;
    e = malloc(sizeof *e);
    if (e == NULL || (e->key = strdup(key)) == NULL) {
        free(e);
        return -1;
    }
    size_t slot = hash_text(key) % t->size;
    e->value = value;
    e->next = t->buckets[slot];
    t->buckets[slot] = e;
    t->count++;
    return 0;
}

static void lexer_next(struct lexer *lx)
{
    const char *s = lx->input;
    while (isspace((unsigned char)s[lx->pos]))
        lx->pos++;
    struct token *tok = &lx->current;
    char c = s[lx->pos];
    if (c == '\0') {
        tok->kind = TOK_END;
    } else if (isdigit((unsigned char)c) || c == '.') {
        char *end;
        errno = 0;
        tok->number = strtod(s + lx->pos, &end);
        tok->kind = errno == 0 ? TOK_NUMBER : TOK_ERROR;
        lx->pos = (size_t)(end - s);
    } else if (isalpha((unsigned char)c) || c == '_') {
        size_t n = 0;
        while ((isalnum((unsigned char)s[lx->pos]) || s[lx->pos] == '_') && n + 1 < sizeof tok->text)
            tok->text[n++] = s[lx->pos++];
        tok->text[n] = '\0';
        tok->kind = TOK_NAME;
    } else {
        tok->kind = c == '(' ? TOK_LPAREN : c == ')' ? TOK_RPAREN : strchr("+-*/^%", c) ? TOK_OP : TOK_ERROR;
        tok->text[0] = c;
        tok->text[1] = '\0';
        lx->pos++;
    }
}

static double parse_sum(struct lexer *lx, const struct table *vars, int *ok);

static double parse_primary(struct lexer *lx, const struct table *vars, int *ok)
{
    struct token tok = lx->current;
    lexer_next(lx);
    if (tok.kind == TOK_NUMBER)
        return tok.number;
    if (tok.kind == TOK_NAME) {
        const struct entry *e = table_find(vars, tok.text);
        if (e != NULL)
            return e->value;
    } else if (tok.kind == TOK_OP && tok.text[0] == '-') {
        return -parse_primary(lx, vars, ok);
    } else if (tok.kind == TOK_LPAREN) {
        double value = parse_sum(lx, vars, ok);
        if (lx->current.kind == TOK_RPAREN) {
            lexer_next(lx);
            return value;
        }
    }
    *ok = 0;
    return 0;
}

static double parse_power(struct lexer *lx, const struct table *vars, int *ok)
{
    double base = parse_primary(lx, vars, ok);
    if (lx->current.kind == TOK_OP && lx->current.text[0] == '^') {
        lexer_next(lx);
        double exponent = parse_power(lx, vars, ok);
        double result = 1;
        for (long i = 0; i < (long)exponent; i++)
            result *= base;
        return result;
    }
    return base;
}

static double parse_product(struct lexer *lx, const struct table *vars, int *ok)
{
    double value = parse_power(lx, vars, ok);
    while (lx->current.kind == TOK_OP && strchr("*/%", lx->current.text[0]) != NULL) {
        char op = lx->current.text[0];
        lexer_next(lx);
        double rhs = parse_power(lx, vars, ok);
        if (op == '*')
            value *= rhs;
        else if (rhs == 0)
            *ok = 0;
        else
            value = op == '/' ? value / rhs : (double)((long)value % (long)rhs);
    }
    return value;
}

static double parse_sum(struct lexer *lx, const struct table *vars, int *ok)
{
    double value = parse_product(lx, vars, ok);
    while (lx->current.kind == TOK_OP && (lx->current.text[0] == '+' || lx->current.text[0] == '-')) {
        char op = lx->current.text[0];
        lexer_next(lx);
        double rhs = parse_product(lx, vars, ok);
        value = op == '+' ? value + rhs : value - rhs;
    }
    return value;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int evaluate_lines(FILE *in, FILE *out)
{
    struct table vars;
    char line[1024];
    double results[256];
    size_t n = 0;
    if (table_init(&vars, 16) != 0)
        return -1;
    while (fgets(line, sizeof line, in) != NULL && n < sizeof results / sizeof results[0]) {
        struct lexer lx = {line, 0, {TOK_END, 0, ""}};
        int ok = 1;
        lexer_next(&lx);
        double value = parse_sum(&lx, &vars, &ok);
        if (!ok || lx.current.kind != TOK_END) {
            fprintf(out, "error: %s", line);
            continue;
        }
        char name[32];
        snprintf(name, sizeof name, "r%zu", n);
        table_set(&vars, name, value);
        results[n++] = value;
        fprintf(out, "%s = %g\n", name, value);
    }
    qsort(results, n, sizeof results[0], compare_doubles);
    if (n > 0)
        fprintf(out, "median = %g\n", results[n / 2]);
    table_free(&vars);
    return (int)n;
}
