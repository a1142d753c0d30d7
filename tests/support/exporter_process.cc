#include "tests/support/exporter_process.h"

#include <signal.h>

#include <chrono>
#include <thread>

namespace netobs::testing {

ExporterProcess::ExporterProcess(ExporterOptions options)
    : options_(std::move(options)), port_(free_tcp_port()) {
  std::vector<std::string> argv;
  if (!options_.netns.empty()) argv = {"ip", "netns", "exec", options_.netns};
  argv.push_back(options_.binary.empty() ? exporter_binary() : options_.binary);
  if (!options_.collectors.empty()) {
    argv.push_back("--collector.disable-defaults");
    for (const std::string& name : options_.collectors) argv.push_back("--collector." + name);
  }
  argv.push_back("--web.listen-address=127.0.0.1:" + std::to_string(port_));
  config_path_ = options_.config_file;
  if (!options_.config_yaml.empty()) config_path_ = dir_.write("netobs.yaml", options_.config_yaml);
  if (!config_path_.empty()) argv.push_back("--config.file=" + config_path_);
  argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
  process_ = std::make_unique<Subprocess>(std::move(argv));
}

std::optional<std::string> ExporterProcess::get(const std::string& path) {
  if (options_.scrape_with_curl || !options_.netns.empty()) {
    std::vector<std::string> argv;
    if (!options_.netns.empty()) argv = {"ip", "netns", "exec", options_.netns};
    for (const char* arg : {"curl", "-sS", "--fail", "--max-time", "10"}) argv.push_back(arg);
    argv.push_back("http://127.0.0.1:" + std::to_string(port_) + path);
    CommandResult result = run_command(argv, 20);
    if (result.exit_code != 0) return std::nullopt;
    return result.output;
  }
  std::optional<HttpResponse> response = http_request("127.0.0.1", port_, path);
  if (!response || response->status != 200) return std::nullopt;
  return response->body;
}

bool ExporterProcess::wait_ready(const std::string& path, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (true) {
    if (get(path)) return true;
    if (std::chrono::steady_clock::now() >= deadline || !process_->running()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

std::string ExporterProcess::scrape() { return get("/metrics").value_or(""); }

std::string ExporterProcess::scrape_until(const std::string& name, const std::string& labels,
                                          double want, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  std::string text = scrape();
  while (metric_value(text, name, labels) != want && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    text = scrape();
  }
  return text;
}

std::optional<int> ExporterProcess::terminate(double seconds) {
  process_->signal(SIGTERM);
  return process_->wait(seconds);
}

}  // namespace netobs::testing
