#include "exporter/events/ring_buffer_reader.h"

#include <cerrno>
#include <cstring>

#include "exporter/errno_name.h"
#include "exporter/log.h"

namespace netobs {

RingBufferReader::~RingBufferReader() { stop(); }

Status RingBufferReader::start(int map_fd, std::string name, Handler handler, Idle idle,
                               int poll_timeout_ms) {
  if (ring_ != nullptr) return Status::error("ring buffer reader " + name_ + " already started");
  name_ = std::move(name);
  handler_ = std::move(handler);
  idle_ = std::move(idle);
  poll_timeout_ms_ = poll_timeout_ms;
  ring_ = ring_buffer__new(map_fd, &RingBufferReader::on_record, this, nullptr);
  if (ring_ == nullptr) {
    const int err = errno;
    return Status::error("opening ring buffer " + name_ + " failed: " + errno_text(err));
  }
  stop_.store(false);
  thread_ = std::thread([this] { loop(); });
  return Status::ok();
}

int RingBufferReader::on_record(void* context, void* data, size_t size) {
  auto* self = static_cast<RingBufferReader*>(context);
  self->handler_(data, size);
  return 0;
}

void RingBufferReader::loop() {
  bool logged = false;
  while (!stop_.load()) {
    int n = ring_buffer__poll(ring_, poll_timeout_ms_);
    if (n < 0 && n != -EINTR && !logged) {
      log_error("ring buffer poll failed", {{"ring", name_}, {"err", errno_text(-n)}});
      logged = true;
    }
    // Producers that submit with BPF_RB_NO_WAKEUP never wake the poll: a
    // poll that timed out still takes what they left.
    if (n == 0) ring_buffer__consume(ring_);
    if (idle_) idle_();
  }
}

void RingBufferReader::drain() {
  if (ring_ != nullptr) ring_buffer__consume(ring_);
}

void RingBufferReader::stop() {
  if (thread_.joinable()) {
    stop_.store(true);
    thread_.join();
  }
  if (ring_ != nullptr) {
    ring_buffer__consume(ring_);
    if (idle_) idle_();
    ring_buffer__free(ring_);
    ring_ = nullptr;
  }
}

}  // namespace netobs
