/* facecast OBS plugin: the "facecast" async video source (callbacks; the table is in
 * facecast-source-info.c).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <obs-module.h>

extern struct obs_source_info facecast_source_info;

const char *facecast_source_get_name(void *type_data);
void *facecast_source_create(obs_data_t *settings, obs_source_t *source);
void facecast_source_destroy(void *data);
void facecast_source_update(void *data, obs_data_t *settings);
void facecast_source_get_defaults(obs_data_t *settings);
obs_properties_t *facecast_source_get_properties(void *data);
