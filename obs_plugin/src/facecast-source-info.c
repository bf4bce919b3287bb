/* facecast OBS plugin: the source's info table, alone, as obs-plugintemplate keeps it.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "facecast-source.h"

struct obs_source_info facecast_source_info = {
	.id = "facecast_source",
	.type = OBS_SOURCE_TYPE_INPUT,
	/* async: frames arrive from our receive thread; OBS paces them by timestamp */
	.output_flags = OBS_SOURCE_ASYNC_VIDEO | OBS_SOURCE_DO_NOT_DUPLICATE,
	.icon_type = OBS_ICON_TYPE_CAMERA,
	.get_name = facecast_source_get_name,
	.create = facecast_source_create,
	.destroy = facecast_source_destroy,
	.update = facecast_source_update,
	.get_defaults = facecast_source_get_defaults,
	.get_properties = facecast_source_get_properties,
};
