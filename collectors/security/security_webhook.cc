#include "collectors/security/security_webhook.h"

#include <algorithm>
#include <chrono>

#include "exporter/http_client.h"
#include "exporter/log.h"

namespace netobs {

WebhookSender::WebhookSender(WebhookOptions options) : options_(std::move(options)) {
  thread_ = std::thread([this] { loop(); });
}

WebhookSender::~WebhookSender() { stop(); }

bool WebhookSender::enqueue(std::string json) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || queue_.size() >= options_.queue_size) {
      ++dropped_full_;
      return false;
    }
    queue_.push_back(std::move(json));
  }
  wake_.notify_one();
  return true;
}

WebhookCounters WebhookSender::counters() const {
  return {.sent = sent_.load(),
          .retries = retries_.load(),
          .dropped_queue_full = dropped_full_.load(),
          .dropped_failed = dropped_failed_.load()};
}

void WebhookSender::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mutex_);
  dropped_failed_ += queue_.size();
  queue_.clear();
}

bool WebhookSender::post(const std::string& json) {
  Result<HttpResponse> response = http_request(
      {.method = "POST", .url = options_.url, .body = json, .content_type = "application/json"},
      options_.timeout_seconds);
  if (response && response->status >= 200 && response->status < 300) return true;
  log_warn(
      "security webhook POST failed",
      {{"collector", "security"},
       {"url", options_.url},
       {"err", response ? "HTTP status " + response->status_line : response.status().message()}});
  return false;
}

void WebhookSender::loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    std::string json = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    bool delivered = false;
    double backoff = options_.first_backoff_seconds;
    for (uint32_t attempt = 0; !delivered; ++attempt) {
      delivered = post(json);
      if (delivered || attempt >= options_.max_retries) break;
      ++retries_;
      lock.lock();
      const bool stop_now = wake_.wait_for(lock, std::chrono::duration<double>(backoff),
                                           [this] { return stopping_; });
      lock.unlock();
      if (stop_now) break;
      backoff = std::min(backoff * 2, 30.0);
    }
    if (delivered) {
      ++sent_;
    } else {
      ++dropped_failed_;
    }
    lock.lock();
  }
}

}  // namespace netobs
