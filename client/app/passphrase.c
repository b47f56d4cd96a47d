/*
 * passphrase.c: reading a passphrase without echo (termios(3): ECHO off on
 * the controlling terminal while reading), from a file descriptor, or from
 * the environment.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <enkrypt/ek_crypto.h>

#include "core.h"
#include "passphrase.h"

#define MAX_PASS 1024

void ek_app_passphrase_free(char *p)
{
    if (p == NULL)
        return;
    ek_wipe(p, strlen(p));
    g_free(p);
}

/* One line from fd, without its newline; NULL at EOF before any byte. */
static char *read_line(int fd)
{
    char *buf = g_malloc0(MAX_PASS + 1);
    size_t n = 0;
    int got = 0;
    while (n < MAX_PASS) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got = 1;
        if (c == '\n')
            break;
        buf[n++] = c;
    }
    if (n > 0 && buf[n - 1] == '\r')
        buf[--n] = 0;
    if (!got) {
        g_free(buf);
        return NULL;
    }
    return buf;
}

static char *prompt_tty(int tty, const char *prompt)
{
    struct termios old, quiet;
    int have = tcgetattr(tty, &old) == 0;
    if (have) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        quiet.c_lflag |= ECHONL;
        (void)tcsetattr(tty, TCSAFLUSH, &quiet);
    }
    if (write(tty, prompt, strlen(prompt)) < 0) {
        /* the prompt is a courtesy; reading still works */
    }
    char *line = read_line(tty);
    if (have)
        (void)tcsetattr(tty, TCSAFLUSH, &old);
    return line;
}

char *ek_app_passphrase_read(int fd, const char *env_name, const char *prompt, int confirm,
                             GError **err)
{
    if (fd >= 0) {
        char *p = read_line(fd);
        if (p == NULL)
            g_set_error(err, EK_APP_ERROR, EK_APP_ERR_INVALID_ARG,
                        "nothing to read on file descriptor %d", fd);
        return p;
    }
    const char *env = env_name != NULL ? g_getenv(env_name) : NULL;
    if (env != NULL)
        return g_strdup(env);
    int tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (tty < 0) {
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_INVALID_ARG,
                    "no terminal to ask for the passphrase: use --passphrase-fd N or set %s",
                    env_name != NULL ? env_name : "ENKRYPT_PASSPHRASE");
        return NULL;
    }
    char *p = prompt_tty(tty, prompt);
    if (p != NULL && confirm) {
        char *again = prompt_tty(tty, "Again: ");
        if (again == NULL || strcmp(again, p) != 0) {
            g_set_error(err, EK_APP_ERROR, EK_APP_ERR_INVALID_ARG,
                        "the two passphrases differ; nothing was changed");
            ek_app_passphrase_free(p);
            p = NULL;
        }
        ek_app_passphrase_free(again);
    } else if (p == NULL) {
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_INVALID_ARG, "no passphrase entered");
    }
    close(tty);
    return p;
}
