// The netobs_exporter program as a function, so a test bed can run the same
// daemon with extra (test-only) collectors registered.
#pragma once

#include "exporter/collector_registry.h"

namespace netobs {

// Parses flags, loads the config, starts the collectors registered by
// `register_collectors` and serves HTTP until SIGTERM/SIGINT (exit code 0);
// SIGHUP reloads the config. Returns the process exit code.
int run_exporter(int argc, char** argv, void (*register_collectors)(CollectorRegistry&));

}  // namespace netobs
