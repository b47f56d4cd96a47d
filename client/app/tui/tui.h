/*
 * tui.h: the terminal UI of enkrypt (issue 9): ncurses, a contacts pane,
 * the conversation, a status line and an input line with irssi/weechat key
 * bindings; commands /connect, /accept, /verify (safety number and QR
 * code), /nick, /settings, /help, /quit. It runs on the GLib main loop of
 * the core (core.h). docs: `/help` inside, and the README walk-through.
 */
#ifndef EK_TUI_H
#define EK_TUI_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Run the terminal UI on an unlocked profile (main.c asks for the
 * passphrase) until /quit (or SIGINT, SIGTERM, SIGHUP, two ctrl-c). Starts
 * the core (ek_app_start) if the caller did not, and runs the default GLib
 * main loop; it does not close app. While it runs, GLib log messages go to the status window and
 * stderr to <data dir>/tui.log, so nothing scribbles over the screen.
 * Returns the exit status: 0 after /quit, 1 when there is no usable
 * terminal (a one-line reason on stderr). */
int ek_tui_run(ek_app *app);

#ifdef __cplusplus
}
#endif
#endif /* EK_TUI_H */
