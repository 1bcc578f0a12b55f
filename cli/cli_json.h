/* SPDX-License-Identifier: Apache-2.0 */
/* cli_json.h — reading wardd's JSON answers, for every `ward` command (ward.c). */
#ifndef WARD_CLI_CLI_JSON_H
#define WARD_CLI_CLI_JSON_H

#include <json-c/json.h>

/* Member @key of object @o; NULL when @o is not an object or has none. */
json_object *json_get(json_object *o, const char *key);

#endif
