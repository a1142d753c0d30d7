// netobs_exporter: loads the config, starts the collectors and serves
// /metrics until SIGTERM/SIGINT; SIGHUP reloads the config.
#include "exporter/exporter_app.h"
#include "exporter/malloc_tuning.h"

int main(int argc, char** argv) {
  netobs::restart_without_thread_caches(argv);
  netobs::tune_malloc();
  return netobs::run_exporter(argc, argv, netobs::register_builtin_collectors);
}
