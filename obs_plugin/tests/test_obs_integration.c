/* Headless libobs integration test of the facecast source.
 *
 * Starts libobs on an X display (run_tests.sh starts Xvfb), opens only this module, creates the
 * source, has tests/publisher.py (facecast's Python Publisher) publish frames, reads the
 * rendered canvas back through a raw video callback (BGRA) and compares pixels.
 *   test_obs_integration PYTHON      prints "N passed, N failed"; exit status 1 on any failure
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <X11/Xlib.h>
#include <obs.h>
#include <obs-module.h>
#include <obs-nix-platform.h>
#include <util/platform.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mini_json.h"

#define CANVAS_W 64
#define CANVAS_H 48
#define PAT_W 32 /* keep in step with publisher.py */
#define PAT_H 24
#define SESSION "studio-1"

static int passed, failed;

#define CHECK(cond, ...)                                                  \
	do {                                                              \
		if (cond) {                                               \
			passed++;                                         \
			printf("ok   ");                                  \
		} else {                                                  \
			failed++;                                         \
			printf("FAIL ");                                  \
		}                                                         \
		printf(__VA_ARGS__);                                      \
		printf("\n");                                             \
		fflush(stdout);                                           \
	} while (0)

/* -- the rendered canvas, as the raw video callback delivers it ---------------------------- */

static pthread_mutex_t canvas_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t canvas[CANVAS_W * CANVAS_H * 4];
static uint64_t canvas_frames;

static void on_raw_video(void *param, struct video_data *frame)
{
	UNUSED_PARAMETER(param);
	pthread_mutex_lock(&canvas_lock);
	for (int y = 0; y < CANVAS_H; y++)
		memcpy(canvas + y * CANVAS_W * 4, frame->data[0] + y * frame->linesize[0], CANVAS_W * 4);
	canvas_frames++;
	pthread_mutex_unlock(&canvas_lock);
}

static void snapshot(uint8_t *out)
{
	pthread_mutex_lock(&canvas_lock);
	memcpy(out, canvas, sizeof(canvas));
	pthread_mutex_unlock(&canvas_lock);
}

/* -- expected pictures ---------------------------------------------------------------------- */

static void pattern_rgb(int k, int x, int y, int rgb[3])
{
	rgb[0] = (x * 8 + k * 40) & 255;
	rgb[1] = (y * 10 + k * 70) & 255;
	rgb[2] = ((x + y) * 5 + k * 100) & 255;
}

static int jpeg_w, jpeg_h, jpeg_tol;
static int *jpeg_rgb; /* from tests/vectors/frame_jpeg.json */

/* Largest channel difference between the canvas and what should be there: the picture in its
 * top-left w x h, opaque black elsewhere (nothing else is in the scene). */
static int max_diff(const uint8_t *c, int w, int h, void (*want)(int, int, int, int[3]), int k)
{
	int worst = 0;
	for (int y = 0; y < CANVAS_H; y++)
		for (int x = 0; x < CANVAS_W; x++) {
			int rgb[3] = {0, 0, 0};
			if (x < w && y < h)
				want(k, x, y, rgb);
			const uint8_t *px = c + (y * CANVAS_W + x) * 4;
			int have[3] = {px[2], px[1], px[0]};
			for (int i = 0; i < 3; i++) {
				int d = abs(have[i] - rgb[i]);
				worst = d > worst ? d : worst;
			}
		}
	return worst;
}

static void jpeg_want(int k, int x, int y, int rgb[3])
{
	UNUSED_PARAMETER(k);
	memcpy(rgb, jpeg_rgb + (y * jpeg_w + x) * 3, sizeof(int) * 3);
}

static void black_want(int k, int x, int y, int rgb[3])
{
	UNUSED_PARAMETER(k);
	UNUSED_PARAMETER(x);
	UNUSED_PARAMETER(y);
	rgb[0] = rgb[1] = rgb[2] = 0;
}

/* Wait up to timeout_ms for the canvas to be within tol of the expected picture. */
static int wait_for(int w, int h, void (*want)(int, int, int, int[3]), int k, int tol, int timeout_ms)
{
	static uint8_t c[sizeof(canvas)];
	int worst = 999;
	for (int t = 0; t < timeout_ms; t += 50) {
		snapshot(c);
		worst = max_diff(c, w, h, want, k);
		if (worst <= tol)
			return worst;
		os_sleep_ms(50);
	}
	return worst;
}

/* -- the publisher process ------------------------------------------------------------------ */

static pid_t pub_pid;
static FILE *pub_in, *pub_out;

static bool start_publisher(const char *python, char *endpoint, size_t size)
{
	int to_child[2], from_child[2];
	if (pipe(to_child) || pipe(from_child))
		return false;
	pub_pid = fork();
	if (pub_pid == 0) {
		dup2(to_child[0], 0);
		dup2(from_child[1], 1);
		close(to_child[1]);
		close(from_child[0]);
		execl(python, python, FACECAST_PUBLISHER, SESSION, FACECAST_VECTORS_DIR, (char *)NULL);
		perror("exec publisher");
		_exit(127);
	}
	close(to_child[0]);
	close(from_child[1]);
	pub_in = fdopen(to_child[1], "w");
	pub_out = fdopen(from_child[0], "r");
	char line[512];
	if (!fgets(line, sizeof(line), pub_out) || strncmp(line, "endpoint ", 9) != 0)
		return false;
	snprintf(endpoint, size, "%s", line + 9);
	endpoint[strcspn(endpoint, "\n")] = 0;
	return true;
}

static bool pub_cmd(const char *cmd)
{
	char line[256];
	fprintf(pub_in, "%s\n", cmd);
	fflush(pub_in);
	return fgets(line, sizeof(line), pub_out) && !strncmp(line, "ok ", 3);
}

static void stop_publisher(void)
{
	if (pub_pid <= 0)
		return;
	if (pub_in) {
		fprintf(pub_in, "quit\n");
		fclose(pub_in);
	}
	for (int i = 0; i < 40 && waitpid(pub_pid, NULL, WNOHANG) == 0; i++)
		os_sleep_ms(50);
	if (waitpid(pub_pid, NULL, WNOHANG) == 0) {
		kill(pub_pid, SIGKILL);
		waitpid(pub_pid, NULL, 0);
	}
	if (pub_out)
		fclose(pub_out);
}

/* -- source counters ------------------------------------------------------------------------ */

struct stats {
	long long received, shown, superseded, malformed, version, too_large, bad_pixels, sync_offset_ms;
	char status[1024];
	char sync[512]; /* the status line about the audio delay (OBS Sync Offset) */
};

static struct stats get_stats(obs_source_t *src)
{
	struct stats s = {0};
	calldata_t cd = {0};
	proc_handler_call(obs_source_get_proc_handler(src), "get_stats", &cd);
	s.received = calldata_int(&cd, "received");
	s.shown = calldata_int(&cd, "shown");
	s.superseded = calldata_int(&cd, "superseded");
	s.malformed = calldata_int(&cd, "malformed");
	s.version = calldata_int(&cd, "version");
	s.too_large = calldata_int(&cd, "too_large");
	s.bad_pixels = calldata_int(&cd, "bad_pixels");
	s.sync_offset_ms = calldata_int(&cd, "sync_offset_ms");
	const char *status = calldata_string(&cd, "status");
	const char *sync = status ? strstr(status, "Audio delay") : NULL;
	snprintf(s.sync, sizeof(s.sync), "%s", sync ? sync : "");
	s.sync[strcspn(s.sync, "\n")] = 0;
	snprintf(s.status, sizeof(s.status), "%s", status ? status : "");
	s.status[strcspn(s.status, "\n")] = 0; /* the first line says the state */
	calldata_free(&cd);
	return s;
}

static bool load_jpeg_expectation(void)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/frame_jpeg.json", FACECAST_VECTORS_DIR);
	FILE *f = fopen(path, "rb");
	if (!f)
		return false;
	static char text[1 << 16];
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = 0;
	const char *p = text;
	struct mj *root = mj_parse_value(&p);
	struct mj *payload = mj_get(root, "payload"), *rows = mj_get(payload, "pixels");
	jpeg_h = (int)rows->n;
	jpeg_w = (int)rows->items[0]->n;
	jpeg_tol = (int)mj_get(payload, "tolerance")->num;
	jpeg_rgb = malloc(sizeof(int) * 3 * jpeg_w * jpeg_h);
	for (int y = 0; y < jpeg_h; y++)
		for (int x = 0; x < jpeg_w; x++)
			for (int c = 0; c < 3; c++)
				jpeg_rgb[(y * jpeg_w + x) * 3 + c] = (int)rows->items[y]->items[x]->items[c]->num;
	mj_free(root);
	return true;
}

/* -- the test ------------------------------------------------------------------------------- */

static void run(obs_source_t *src)
{
	/* sampling may round by one step on the GPU; the JPEG vector allows its own tolerance */
	const int tol = 2;
	int d;
	struct stats s;

	/* 1. each raw format, with row padding the plugin must skip */
	const char *formats[] = {"rgb24", "rgba32", "bgra32"};
	for (int i = 0; i < 3; i++) {
		char cmd[64];
		snprintf(cmd, sizeof(cmd), "show %s %d", formats[i], i + 1);
		pub_cmd(cmd);
		d = wait_for(PAT_W, PAT_H, pattern_rgb, i + 1, tol, 10000);
		CHECK(d <= tol, "%s %dx%d frame rendered (max channel difference %d)", formats[i], PAT_W, PAT_H, d);
	}
	s = get_stats(src);
	CHECK(strstr(s.status, "Receiving 32x24 bgra32") != NULL, "status says what arrives: '%.60s'", s.status);
	/* frames, but no stats event yet: the runtime's part of the delay is unknown */
	CHECK(s.sync_offset_ms == -1 && strstr(s.sync, "not measured yet") != NULL,
	      "no audio delay before the runtime reports its latency (%lld): '%.90s'", s.sync_offset_ms, s.sync);

	/* 2. JPEG: the golden vector's picture */
	pub_cmd("jpeg");
	d = wait_for(jpeg_w, jpeg_h, jpeg_want, 0, jpeg_tol + tol, 10000);
	CHECK(d <= jpeg_tol + tol, "jpeg %dx%d vector rendered (max channel difference %d)", jpeg_w, jpeg_h, d);

	/* 3. frames keep flowing: at 30 fps about 30 shown per second */
	pub_cmd("show rgb24 4");
	wait_for(PAT_W, PAT_H, pattern_rgb, 4, tol, 10000);
	struct stats before = get_stats(src);
	os_sleep_ms(1000);
	s = get_stats(src);
	CHECK(s.shown - before.shown >= 15, "frames flow: %lld shown in 1 s (30 published)", s.shown - before.shown);

	/* 3b. the audio delay to set: the runtime says audio -> frame published takes 41.5 ms, and
	 * frames are stamped 30 ms before they are sent, so they reach OBS >= 71.5 ms after their
	 * audio: 80 ms, rounded up to 10 (more only if this machine adds > 8.5 ms on the way) */
	pub_cmd("lag 30");
	pub_cmd("stats 41.5");
	s = get_stats(src);
	for (int t = 0; t < 15000 && s.sync_offset_ms < 80; t += 100) { /* until the late frames fill half the window */
		os_sleep_ms(100);
		s = get_stats(src);
	}
	CHECK(s.sync_offset_ms >= 80 && s.sync_offset_ms <= 150 && s.sync_offset_ms % 10 == 0,
	      "audio delay from the runtime's 41.5 ms + frames 30 ms late: %lld ms (80 expected): '%.160s'",
	      s.sync_offset_ms, s.sync);
	CHECK(strstr(s.sync, "41.5 ms in the runtime") != NULL, "status names the runtime's part: '%.160s'", s.sync);
	pub_cmd("lag 0");
	pub_cmd("stats off");

	/* 4. malformed frames are dropped and counted; the picture and OBS carry on */
	before = get_stats(src);
	pub_cmd("garbage");
	os_sleep_ms(700);
	s = get_stats(src);
	long long dropped = (s.malformed - before.malformed) + (s.version - before.version) +
			    (s.too_large - before.too_large) + (s.bad_pixels - before.bad_pixels);
	/* 12 kinds x 3; ZeroMQ itself may drop some under its high-water mark */
	CHECK(dropped >= 12, "malformed frames dropped and counted: %lld (malformed %lld, version %lld, "
	      "undecodable %lld)", dropped, s.malformed - before.malformed, s.version - before.version,
	      s.bad_pixels - before.bad_pixels);
	CHECK(s.version > before.version, "another major version refused and counted (%lld)", s.version - before.version);
	CHECK(s.bad_pixels > before.bad_pixels, "undecodable JPEG dropped and counted (%lld)",
	      s.bad_pixels - before.bad_pixels);
	calldata_t cd = {0};
	proc_handler_call(obs_source_get_proc_handler(src), "get_stats", &cd);
	const char *full = calldata_string(&cd, "status");
	CHECK(full && strstr(full, "Last problem") != NULL, "status names the last problem: '%s'",
	      full && strstr(full, "Last problem") ? strstr(full, "Last problem") : "");
	calldata_free(&cd);
	d = wait_for(PAT_W, PAT_H, pattern_rgb, 4, tol, 3000);
	CHECK(d <= tol, "picture unharmed by malformed frames (max difference %d)", d);
	pub_cmd("show rgb24 5");
	d = wait_for(PAT_W, PAT_H, pattern_rgb, 5, tol, 5000);
	CHECK(d <= tol, "new frames shown after the malformed burst (max difference %d)", d);

	/* 5. another session sharing the topic prefix is not shown */
	pub_cmd("other 6");
	os_sleep_ms(1000);
	static uint8_t c[sizeof(canvas)];
	snapshot(c);
	d = max_diff(c, PAT_W, PAT_H, pattern_rgb, 5);
	CHECK(d <= tol, "frames of session '" SESSION "0' ignored (max difference from the last frame %d)", d);

	/* 6. stream stops with "last frame": the picture stays */
	pub_cmd("stop");
	os_sleep_ms(2000);
	snapshot(c);
	d = max_diff(c, PAT_W, PAT_H, pattern_rgb, 5);
	CHECK(d <= tol, "on stop, 'last frame' keeps the picture (max difference %d)", d);
	s = get_stats(src);
	CHECK(strstr(s.status, "Stream stopped") != NULL, "status says the stream stopped: '%.40s'", s.status);

	/* 7. runtime restarts on the same endpoint (seq and t_audio back to 0): reconnect */
	pub_cmd("restart");
	pub_cmd("show bgra32 7");
	d = wait_for(PAT_W, PAT_H, pattern_rgb, 7, tol, 10000);
	CHECK(d <= tol, "after the runtime restarts, frames are shown again (max difference %d)", d);

	/* 8. stream stops with "transparent": the source shows nothing. The settings change resets the
	 * figures; from here frames come stamped a minute ahead, as from a runtime whose clock is */
	pub_cmd("lag -60000");
	obs_data_t *settings = obs_source_get_settings(src);
	obs_data_set_string(settings, "on_stop", "transparent");
	obs_source_update(src, settings);
	obs_data_release(settings);
	d = wait_for(PAT_W, PAT_H, pattern_rgb, 7, tol, 10000);
	CHECK(d <= tol, "frames shown again after a settings change (max difference %d)", d);
	s = get_stats(src);
	for (int t = 0; t < 5000 && !(s.sync_offset_ms == -1 && strstr(s.sync, "clock")); t += 100) {
		os_sleep_ms(100); /* OBS applies the update on its next video tick */
		s = get_stats(src);
	}
	CHECK(s.sync_offset_ms == -1 && strstr(s.sync, "clock") != NULL,
	      "frames from a clock a minute ahead give no audio delay (%lld): '%.130s'", s.sync_offset_ms, s.sync);
	pub_cmd("lag 0");
	pub_cmd("stop");
	d = wait_for(0, 0, black_want, 0, 0, 4000);
	CHECK(d == 0, "on stop, 'transparent' clears the picture (max difference from black %d)", d);

	/* 9. the real runtime (`facecast run --image`, JPEG frames of the rendered portrait) on the same endpoint */
	struct stats live_before = get_stats(src);
	pub_cmd("live");
	s = live_before;
	for (int t = 0; t < 20000 && s.shown < live_before.shown + 60; t += 100) {
		os_sleep_ms(100);
		s = get_stats(src);
	}
	CHECK(s.shown >= live_before.shown + 60, "frames of the live runtime shown (%lld in up to 20 s)",
	      s.shown - live_before.shown);
	CHECK(strstr(s.status, "Receiving 512x512 jpeg") != NULL, "status shows the runtime's frames: '%.60s'", s.status);
	CHECK(s.malformed == live_before.malformed && s.bad_pixels == live_before.bad_pixels,
	      "no live frame dropped as malformed (%lld) or undecodable (%lld)", s.malformed - live_before.malformed,
	      s.bad_pixels - live_before.bad_pixels);
	snapshot(c);
	d = max_diff(c, PAT_W, PAT_H, black_want, 0);
	CHECK(d > 60, "the rendered portrait is on the canvas (brightest channel %d above black)", d);
	/* the figures were reset by the settings change in 8.: this delay is the real runtime's */
	for (int t = 0; t < 5000 && s.sync_offset_ms < 0; t += 100) { /* its stats come once a second */
		os_sleep_ms(100);
		s = get_stats(src);
	}
	CHECK(s.sync_offset_ms >= 10 && s.sync_offset_ms <= 2000 && s.sync_offset_ms % 10 == 0 &&
	      strstr(s.sync, "ms in the runtime") != NULL,
	      "audio delay from the live runtime's stats: %lld ms: '%.160s'", s.sync_offset_ms, s.sync);

	/* 10. an endpoint nobody binds: OBS keeps rendering, the source waits */
	settings = obs_source_get_settings(src);
	obs_data_set_string(settings, "endpoint", "tcp://127.0.0.1:9");
	obs_source_update(src, settings);
	obs_data_release(settings);
	pthread_mutex_lock(&canvas_lock);
	uint64_t frames_before = canvas_frames;
	pthread_mutex_unlock(&canvas_lock);
	os_sleep_ms(500);
	pthread_mutex_lock(&canvas_lock);
	uint64_t frames_after = canvas_frames;
	pthread_mutex_unlock(&canvas_lock);
	s = get_stats(src);
	CHECK(frames_after > frames_before + 5, "OBS keeps rendering while nothing is published (%llu frames in 0.5 s)",
	      (unsigned long long)(frames_after - frames_before));
	CHECK(strstr(s.status, "Waiting for frames") != NULL, "status says it is waiting: '%.50s'", s.status);

	printf("info: OBS rendered %u frames, %u lagged\n", obs_get_total_frames(), obs_get_lagged_frames());
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s PYTHON\n", argv[0]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	Display *display = XOpenDisplay(NULL);
	if (!display) {
		printf("FAIL no X display (run under Xvfb: run_tests.sh starts one)\n0 passed, 1 failed\n");
		return 1;
	}
	CHECK(load_jpeg_expectation(), "read frame_jpeg.json");

	obs_set_nix_platform(OBS_NIX_PLATFORM_X11_EGL);
	obs_set_nix_platform_display(display);
	if (!obs_startup("en-US", NULL, NULL)) {
		printf("FAIL obs_startup\n0 passed, 1 failed\n");
		return 1;
	}
	struct obs_video_info ovi = {
		.graphics_module = "libobs-opengl",
		.fps_num = 30,
		.fps_den = 1,
		.base_width = CANVAS_W,
		.base_height = CANVAS_H,
		.output_width = CANVAS_W,
		.output_height = CANVAS_H,
		.output_format = VIDEO_FORMAT_BGRA,
		.adapter = 0,
		.gpu_conversion = true,
		.colorspace = VIDEO_CS_SRGB,
		.range = VIDEO_RANGE_FULL,
		.scale_type = VIDEO_SCALE_POINT,
	};
	int rv = obs_reset_video(&ovi);
	CHECK(rv == OBS_VIDEO_SUCCESS, "libobs video started (obs_reset_video %d)", rv);
	if (rv != OBS_VIDEO_SUCCESS)
		goto out;

	obs_module_t *module = NULL;
	rv = obs_open_module(&module, FACECAST_MODULE_PATH, FACECAST_DATA_PATH);
	CHECK(rv == MODULE_SUCCESS && obs_init_module(module), "facecast module opened and loaded (%d)", rv);
	if (rv != MODULE_SUCCESS)
		goto out;

	char endpoint[256];
	bool pub_ok = start_publisher(argv[1], endpoint, sizeof(endpoint));
	CHECK(pub_ok, "publisher started on %s", pub_ok ? endpoint : "?");
	if (!pub_ok)
		goto out;

	obs_data_t *settings = obs_data_create();
	obs_data_set_string(settings, "endpoint", endpoint);
	obs_data_set_string(settings, "session", SESSION);
	obs_source_t *src = obs_source_create("facecast_source", "facecast", settings, NULL);
	obs_data_release(settings);
	CHECK(src != NULL, "facecast source created");
	if (src) {
		obs_set_output_source(0, src);
		struct video_scale_info conv = {.format = VIDEO_FORMAT_BGRA, /* RGBA reads back zeros on 29.0.2 */
						.width = CANVAS_W,
						.height = CANVAS_H,
						.range = VIDEO_RANGE_FULL,
						.colorspace = VIDEO_CS_SRGB};
		obs_add_raw_video_callback(&conv, on_raw_video, NULL);
		run(src);
		obs_remove_raw_video_callback(on_raw_video, NULL);
		obs_set_output_source(0, NULL);
		obs_source_release(src);
	}
out:
	stop_publisher();
	obs_shutdown();
	XCloseDisplay(display);
	printf("%d passed, %d failed\n", passed, failed);
	return failed || passed == 0 ? 1 : 0;
}
