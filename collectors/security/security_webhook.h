// WebhookSender: POSTs security alerts (one JSON object each) to an http://
// URL from its own thread. The queue is bounded: when it is full the new
// alert is dropped and counted; a failed POST is retried with exponential
// backoff, then dropped and counted. Owned by the security collector:
// enqueue() from its event thread, counters from scrapes, stop() from the
// main thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace netobs {

struct WebhookOptions {
  std::string url;
  size_t queue_size = 1024;
  uint32_t max_retries = 3;
  double timeout_seconds = 5;
  double first_backoff_seconds = 0.5;  // doubles per retry, at most 30 s
};

struct WebhookCounters {
  uint64_t sent = 0;
  uint64_t retries = 0;
  uint64_t dropped_queue_full = 0;
  uint64_t dropped_failed = 0;  // every retry failed, or still queued at stop
};

class WebhookSender {
 public:
  explicit WebhookSender(WebhookOptions options);
  ~WebhookSender();
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  // Queues one alert; false (and counted) when the queue is full.
  bool enqueue(std::string json);
  WebhookCounters counters() const;
  // Stops the thread: the alert being sent gets its current attempt, the
  // ones still queued are counted as dropped. Idempotent.
  void stop();

 private:
  void loop();
  bool post(const std::string& json);

  WebhookOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::string> queue_;
  bool stopping_ = false;
  std::atomic<uint64_t> sent_{0}, retries_{0}, dropped_full_{0}, dropped_failed_{0};
  std::thread thread_;
};

}  // namespace netobs
