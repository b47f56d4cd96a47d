/*
 * mailbox.c: hands items from any thread to the GLib main loop, in the
 * order they were posted. This is the only way GStreamer threads talk to
 * the rest of the layer (webrtc-transport.md §9: callbacks only marshal).
 *
 * One idle source drains the whole queue per run. The "scheduled" flag is
 * set under the lock before the source is attached, never inferred from a
 * stored source id: the idle can run before g_source_attach returns, and
 * the research spike stalled at random when it tested an id instead
 * (webrtc-transport.md §6, flow control). Posting never dispatches inside
 * the post call, so a callback never runs re-entrantly inside an API call
 * made from the main loop.
 */
#include "net_internal.h"

struct ek_mailbox {
    gatomicrefcount ref;
    GMutex lock;
    GQueue items;
    int scheduled;
    int shut;
    GMainContext *ctx;
    ek_mailbox_dispatch_fn dispatch;
    ek_mailbox_drop_fn drop;
    void *user;
};

ek_mailbox *ek_mailbox_new(GMainContext *ctx, ek_mailbox_dispatch_fn dispatch,
                           ek_mailbox_drop_fn drop, void *user)
{
    ek_mailbox *mb = g_new0(ek_mailbox, 1);
    g_atomic_ref_count_init(&mb->ref);
    g_mutex_init(&mb->lock);
    g_queue_init(&mb->items);
    mb->ctx = g_main_context_ref(ctx);
    mb->dispatch = dispatch;
    mb->drop = drop;
    mb->user = user;
    return mb;
}

ek_mailbox *ek_mailbox_ref(ek_mailbox *mb)
{
    g_atomic_ref_count_inc(&mb->ref);
    return mb;
}

void ek_mailbox_unref(ek_mailbox *mb)
{
    if (mb == NULL || !g_atomic_ref_count_dec(&mb->ref))
        return;
    /* Only reached after shutdown emptied the queue, or if nothing was
     * ever posted; drop anything left all the same. */
    void *item;
    while ((item = g_queue_pop_head(&mb->items)) != NULL)
        mb->drop(item);
    g_mutex_clear(&mb->lock);
    g_main_context_unref(mb->ctx);
    g_free(mb);
}

static gboolean mailbox_run(gpointer data)
{
    ek_mailbox *mb = data;
    GQueue batch = G_QUEUE_INIT;
    g_mutex_lock(&mb->lock);
    batch = mb->items;
    g_queue_init(&mb->items);
    mb->scheduled = 0;
    g_mutex_unlock(&mb->lock);

    void *item;
    while ((item = g_queue_pop_head(&batch)) != NULL) {
        /* An item may shut the mailbox down (the endpoint is freed from a
         * callback); what is left of the batch is dropped then. */
        g_mutex_lock(&mb->lock);
        int shut = mb->shut;
        g_mutex_unlock(&mb->lock);
        if (shut)
            mb->drop(item);
        else
            mb->dispatch(item, mb->user);
    }
    return G_SOURCE_REMOVE;
}

static void mailbox_source_done(gpointer data)
{
    ek_mailbox_unref(data);
}

void ek_mailbox_post(ek_mailbox *mb, void *item)
{
    g_mutex_lock(&mb->lock);
    if (mb->shut) {
        g_mutex_unlock(&mb->lock);
        mb->drop(item);
        return;
    }
    g_queue_push_tail(&mb->items, item);
    int need_source = !mb->scheduled;
    mb->scheduled = 1;
    g_mutex_unlock(&mb->lock);
    if (need_source) {
        GSource *src = g_idle_source_new();
        g_source_set_priority(src, G_PRIORITY_DEFAULT);
        g_source_set_callback(src, mailbox_run, ek_mailbox_ref(mb), mailbox_source_done);
        g_source_attach(src, mb->ctx);
        g_source_unref(src);
    }
}

void ek_mailbox_shutdown(ek_mailbox *mb)
{
    GQueue left = G_QUEUE_INIT;
    g_mutex_lock(&mb->lock);
    mb->shut = 1;
    left = mb->items;
    g_queue_init(&mb->items);
    g_mutex_unlock(&mb->lock);
    void *item;
    while ((item = g_queue_pop_head(&left)) != NULL)
        mb->drop(item);
}
