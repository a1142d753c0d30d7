#include "exporter/exporter_app.h"

#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <mutex>
#include <thread>

#include "config/config_loader.h"
#include "exporter/bpf/bpf_stats.h"
#include "exporter/bpf/libbpf_logging.h"
#include "exporter/bpf/preflight.h"
#include "exporter/bpf/skeleton.h"
#include "exporter/collector_manager.h"
#include "exporter/collector_registry.h"
#include "exporter/flags.h"
#include "exporter/http_server.h"
#include "exporter/log.h"
#include "exporter/version.h"
#include "exporter/web/web_config.h"

namespace netobs {
namespace {

constexpr int kExitUsage = 2;
constexpr int kExitRuntime = 1;

// Loads the file (or the built-in config), applies the flags and reports
// every problem; nullopt when the config cannot be used.
std::optional<Config> load_effective_config(const Flags& flags,
                                            const CollectorConfigSections& sections) {
  ConfigLoadResult loaded = flags.config_file ? load_config_file(*flags.config_file, sections)
                                              : load_default_config(sections);
  for (const auto& warning : loaded.warnings) log_warn("config", {{"warning", warning}});
  if (!loaded.ok()) {
    for (const auto& error : loaded.errors)
      log_error("invalid config", {{"err", error.to_string()}});
    if (loaded.more_errors > 0) log_error("invalid config", {{"err", loaded.more_errors_line()}});
    return std::nullopt;
  }
  Status applied = apply_flags(flags, loaded.config);
  if (!applied.is_ok()) {
    log_error("invalid flag", {{"err", applied.message()}});
    return std::nullopt;
  }
  return loaded.config;
}

bool any_bpf_collector_enabled(const CollectorRegistry& registry, const Config& config) {
  for (const auto& d : registry.all()) {
    if (!collector_enabled(config, d.name)) continue;
    for (Requirement r : d.needs) {
      if (r == Requirement::kBpfPrivileges) return true;
    }
  }
  return false;
}

// Loading BPF objects (libbpf parses each object, the verifier log buffers)
// peaks at several MiB of heap that is freed right after, but glibc keeps
// freed chunks inside the heap resident. Handing them back once the
// collectors are (re)started keeps RSS near what the exporter really uses.
void return_freed_memory() {
  malloc_trim(0);
  release_skeleton_bytes();
}
constexpr time_t kTrimIntervalSeconds = 10;

// How long SIGTERM may take: a collector blocked in a kernel call or a file
// must not keep the process alive (systemd would SIGKILL it later anyway).
constexpr std::chrono::seconds kShutdownGrace{10};

// Takes SIGTERM, SIGINT and SIGHUP on a thread of its own, so a signal is seen
// even while the main thread is stuck (in a collector's start or stop). The
// main thread asks for events; once termination is asked for, the process
// exits after kShutdownGrace if the main thread has not finished by then.
// The state is never freed: the thread may outlive run_exporter's frame.
class SignalWatcher {
 public:
  enum class Event { kReload, kTerminate };

  explicit SignalWatcher(const sigset_t& signals) : state_(new State) {
    state_->signals = signals;
    std::thread([state = state_] { run(*state); }).detach();
  }

  // Waits at most `timeout` for a signal (nullopt: none came); termination
  // wins over pending reloads.
  std::optional<Event> wait_for(std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> lock(state_->mutex);
    if (!state_->changed.wait_for(lock, timeout,
                                  [&] { return state_->terminate != 0 || state_->reloads > 0; })) {
      return std::nullopt;
    }
    if (state_->terminate != 0) return Event::kTerminate;
    --state_->reloads;
    return Event::kReload;
  }
  bool terminate_requested() const {
    std::lock_guard<std::mutex> lock(state_->mutex);
    return state_->terminate != 0;
  }
  std::string terminate_signal() const {
    std::lock_guard<std::mutex> lock(state_->mutex);
    return state_->terminate == SIGINT ? "SIGINT" : "SIGTERM";
  }
  // The main thread is done cleaning up: no forced exit.
  void finished() {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->finished = true;
    state_->changed.notify_all();
  }

 private:
  struct State {
    sigset_t signals;
    std::mutex mutex;
    std::condition_variable changed;
    int terminate = 0;  // the signal, once asked
    int reloads = 0;
    bool finished = false;
  };

  static void run(State& state) {
    while (true) {
      int sig = 0;
      if (sigwait(&state.signals, &sig) != 0) continue;
      std::unique_lock<std::mutex> lock(state.mutex);
      if (sig == SIGHUP) {
        ++state.reloads;
        state.changed.notify_all();
        continue;
      }
      if (state.terminate != 0) continue;  // already counting down
      state.terminate = sig;
      state.changed.notify_all();
      if (state.changed.wait_for(lock, kShutdownGrace, [&] { return state.finished; })) return;
      std::string busy;
      for (const std::string& call : collectors_busy()) busy += (busy.empty() ? "" : ", ") + call;
      log_error(
          "shutdown did not finish in time (a collector is blocked); exiting without "
          "waiting for it",
          {{"grace_seconds", std::to_string(kShutdownGrace.count())},
           {"blocked", busy.empty() ? "none (the HTTP server or the main thread)" : busy}});
      std::fflush(stderr);
      _exit(kExitRuntime);
    }
  }

  State* state_;
};

void handle_reload(const Flags& flags, const CollectorConfigSections& sections,
                   CollectorManager& manager) {
  log_info("SIGHUP: reloading config", {{"file", flags.config_file.value_or("<built-in>")}});
  std::optional<Config> config = load_effective_config(flags, sections);
  if (!config) {
    log_error("config reload failed; keeping the running config");
    manager.record_reload(false);
    return;
  }
  const Config running = manager.config();
  if (config->exporter.listen_address != running.exporter.listen_address ||
      config->exporter.telemetry_path != running.exporter.telemetry_path ||
      config->exporter.max_requests != running.exporter.max_requests) {
    log_warn("web settings changed in the config; they take effect after a restart");
  }
  if (auto level = parse_log_level(config->exporter.log_level)) set_log_level(*level);
  Status status = manager.reload(*config);
  manager.record_reload(status.is_ok());
  if (!status.is_ok()) {
    log_error("config reload failed", {{"err", status.message()}});
  } else {
    log_info("config reloaded");
  }
  return_freed_memory();
}

}  // namespace

int run_exporter(int argc, char** argv, void (*register_collectors)(CollectorRegistry&)) {
  CollectorRegistry registry;
  register_collectors(registry);
  const std::vector<std::string> names = registry.names();

  Result<Flags> flags = parse_exporter_flags({argv + 1, argv + argc}, names);
  if (!flags) {
    std::cerr << "netobs_exporter: " << flags.message() << "\n\n" << exporter_usage(names);
    return kExitUsage;
  }
  if (flags->show_help) {
    std::cout << exporter_usage(names);
    return 0;
  }
  if (flags->show_version) {
    std::cout << "netobs_exporter version " << kVersion << " (revision " << kRevision << ")\n";
    return 0;
  }

  // Signals are handled by sigwait in this thread only: block them before any
  // other thread (civetweb, collector samplers) exists so they inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, sig);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  SignalWatcher watcher(signals);

  const CollectorConfigSections sections = registry.config_sections();
  std::optional<Config> config = load_effective_config(*flags, sections);
  if (!config) {
    watcher.finished();
    return kExitUsage;
  }
  set_log_level(*parse_log_level(config->exporter.log_level));
  if (!flags->web_config_file.empty()) {
    // Checked before any collector starts: a bad web config is a usage error.
    Result<web::WebConfig> web = web::load_web_config(flags->web_config_file);
    if (!web) {
      log_error("invalid web config", {{"file", flags->web_config_file}, {"err", web.message()}});
      watcher.finished();
      return kExitUsage;
    }
  }
  install_libbpf_logger();
  log_info("starting netobs_exporter",
           {{"version", kVersion}, {"revision", kRevision}, {"config", config->source}});

  PreflightReport preflight = run_preflight();
  log_preflight(preflight);

  // Held for the exporter's lifetime: the kernel keeps run-time stats on
  // while the fd is open and turns them off when we exit.
  std::optional<BpfStatsEnabler> bpf_stats;
  if (config->exporter.bpf_stats && any_bpf_collector_enabled(registry, *config)) {
    Result<BpfStatsEnabler> enabled = BpfStatsEnabler::enable();
    if (enabled) {
      bpf_stats.emplace(std::move(*enabled));
    } else {
      log_warn("BPF run-time stats unavailable; run_time/run_count metrics stay absent",
               {{"err", enabled.message()}});
    }
  }

  CollectorManager manager(registry, preflight);
  Status started = manager.start(*config);
  manager.record_reload(started.is_ok());
  if (!started.is_ok()) {
    log_error("startup failed", {{"err", started.message()}});
    manager.stop_all();
    watcher.finished();
    return kExitRuntime;
  }
  if (watcher.terminate_requested()) {  // asked while the collectors started
    log_info("shutting down", {{"signal", watcher.terminate_signal()}});
    manager.stop_all();
    watcher.finished();
    return 0;
  }

  HttpServer server(manager);
  HttpOptions http;
  http.listen_address = config->exporter.listen_address;
  http.telemetry_path = config->exporter.telemetry_path;
  http.max_requests = config->exporter.max_requests;
  if (flags->max_connections) http.max_connections = *flags->max_connections;
  http.web_config_file = flags->web_config_file;
  Status listening = server.start(http);
  if (!listening.is_ok()) {
    log_error("startup failed", {{"err", listening.message()}});
    manager.stop_all();
    watcher.finished();
    return kExitRuntime;
  }
  return_freed_memory();

  while (true) {
    // Scrapes, reloads and label churn free memory inside the heap that
    // glibc keeps resident; it is handed back every kTrimIntervalSeconds, so RSS
    // stays flat under frequent scrapes.
    const std::optional<SignalWatcher::Event> event =
        watcher.wait_for(std::chrono::seconds(kTrimIntervalSeconds));
    if (!event) {
      return_freed_memory();
      continue;
    }
    if (*event == SignalWatcher::Event::kTerminate) break;
    handle_reload(*flags, sections, manager);
  }
  log_info("shutting down", {{"signal", watcher.terminate_signal()}});
  server.stop();
  manager.stop_all();
  log_info("stopped; every BPF program detached");
  watcher.finished();
  return 0;
}

}  // namespace netobs
