/*
 * cmds.h - prototypes of every command procedure and subcommand table listed in the
 * *.def files, so each t_*.c can include this instead of declaring its own (the
 * -Wmissing-prototypes rule) and commands.c builds its table from the same lists.
 */
#ifndef ST_KV_CMDS_H
#define ST_KV_CMDS_H

#include "kv/internal.h"

#define KV_CMD(name, proc, ...) void proc(struct kv_client *c);
#define KV_CMD_PARENT(name, table, ...) extern const struct kv_cmd table[];
#include "kv/multi.def"
#include "kv/persist.def"
#include "kv/pubsub.def"
#include "kv/t_hash.def"
#include "kv/t_keys.def"
#include "kv/t_list.def"
#include "kv/t_server.def"
#include "kv/t_set.def"
#include "kv/t_string.def"
#include "kv/t_zset.def"
#undef KV_CMD
#undef KV_CMD_PARENT

#endif
