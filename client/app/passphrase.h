/*
 * passphrase.h: reading a passphrase (or a recovery code) for the
 * command line: from a file descriptor (--passphrase-fd N: the first line),
 * from the environment (ENKRYPT_PASSPHRASE), or from the terminal without
 * echo.
 */
#ifndef EK_APP_PASSPHRASE_H
#define EK_APP_PASSPHRASE_H

#include <glib.h>

/* fd >= 0: read the first line of fd. Else env_name's value if set. Else
 * prompt on /dev/tty without echo (twice when confirm, they must match).
 * Returns a string to free with ek_app_passphrase_free(), or NULL with err
 * set (no source; EOF; mismatch). */
char *ek_app_passphrase_read(int fd, const char *env_name, const char *prompt, int confirm,
                             GError **err);
void ek_app_passphrase_free(char *p);

#endif /* EK_APP_PASSPHRASE_H */
