/* facecast OBS plugin: settings keys and locale keys, defined once.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

/* settings keys (obs_data) */
#define S_ENDPOINT "endpoint"
#define S_SESSION "session"
#define S_ON_STOP "on_stop"
#define S_STATUS "status"
#define S_REFRESH "refresh_status"

/* S_ON_STOP values */
#define S_ON_STOP_LAST_FRAME "last_frame"
#define S_ON_STOP_TRANSPARENT "transparent"

#define FACECAST_DEFAULT_ENDPOINT "tcp://127.0.0.1:5555"
#define FACECAST_DEFAULT_SESSION "default"

/* After this long without a frame the stream counts as stopped (and S_ON_STOP applies). */
#define FACECAST_STOPPED_AFTER_MS 1000

/* locale keys (data/locale/en-US.ini) */
#define T_(text) obs_module_text(text)
#define T_SOURCE_NAME T_("Facecast")
#define T_ENDPOINT T_("Endpoint")
#define T_ENDPOINT_HINT T_("Endpoint.Hint")
#define T_SESSION T_("Session")
#define T_ON_STOP T_("OnStop")
#define T_ON_STOP_LAST_FRAME T_("OnStop.LastFrame")
#define T_ON_STOP_TRANSPARENT T_("OnStop.Transparent")
#define T_STATUS T_("Status")
#define T_REFRESH T_("RefreshStatus")
#define T_STATUS_IDLE T_("Status.Idle")
#define T_STATUS_WAITING T_("Status.Waiting")
#define T_STATUS_RECEIVING T_("Status.Receiving")
#define T_STATUS_STOPPED T_("Status.Stopped")
#define T_STATUS_DROPPED T_("Status.Dropped")
#define T_STATUS_LAST_ERROR T_("Status.LastError")
#define T_STATUS_SYNC T_("Status.SyncOffset")
#define T_STATUS_SYNC_NOT_YET T_("Status.SyncOffset.NotYet")
#define T_STATUS_SYNC_NO_STATS T_("Status.SyncOffset.NoStats")
#define T_STATUS_SYNC_CLOCK T_("Status.SyncOffset.Clock")
#define T_ERR_SESSION T_("Error.Session")
#define T_ERR_CONNECT T_("Error.Connect")
