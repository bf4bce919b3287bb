/* facecast OBS plugin: module entry points.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <obs-module.h>

#include "facecast-source.h"

OBS_DECLARE_MODULE()
OBS_MODULE_USE_DEFAULT_LOCALE("facecast", "en-US")

MODULE_EXPORT const char *obs_module_description(void)
{
	return "facecast: show a facecast runtime's talking-face frames as a source";
}

bool obs_module_load(void)
{
	obs_register_source(&facecast_source_info);
	blog(LOG_INFO, "[facecast] plugin loaded (protocol v1)");
	return true;
}
