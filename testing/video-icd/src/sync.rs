//! Fences, binary and timeline semaphores, and queue submission: a submission runs its
//! command buffers at once on the calling thread, then signals its semaphores and fence.

use crate::command::State;
use crate::driver::Driver;

/// A fence.
pub(crate) struct Fence {
    pub(crate) signaled: bool,
}

/// A semaphore: a timeline's counter, or a binary one's 0/1.
pub(crate) struct Semaphore {
    pub(crate) timeline: bool,
    pub(crate) value: u64,
}

/// One batch of a submission: semaphore waits (semaphore, value), command buffers, signals.
#[derive(Clone, Debug, Default)]
pub(crate) struct Batch {
    pub(crate) waits: Vec<(u64, u64)>,
    pub(crate) command_buffers: Vec<u64>,
    pub(crate) signals: Vec<(u64, u64)>,
}

impl Driver {
    /// `vkCreateFence`.
    pub(crate) fn create_fence(&mut self, device: u64, signaled: bool) -> Result<u64, String> {
        let id = self.id();
        self.device_mut(device)?
            .fences
            .insert(id, Fence { signaled });
        Ok(id)
    }

    /// `vkDestroyFence`.
    pub(crate) fn destroy_fence(&mut self, device: u64, f: u64) -> Result<(), String> {
        self.device_mut(device)?
            .fences
            .remove(&f)
            .map(|_| ())
            .ok_or_else(|| format!("unknown fence {f:#x}"))
    }

    /// `vkResetFences`.
    pub(crate) fn reset_fences(&mut self, device: u64, fences: &[u64]) -> Result<(), String> {
        let d = self.device_mut(device)?;
        if let Some(f) = fences.iter().find(|f| !d.fences.contains_key(f)) {
            return Err(format!("unknown fence {f:#x}"));
        }
        for f in fences {
            if let Some(f) = d.fences.get_mut(f) {
                f.signaled = false;
            }
        }
        Ok(())
    }

    /// `vkGetFenceStatus`: signaled or not; unknown fences are refused.
    pub(crate) fn fence_status(&self, device: u64, f: u64) -> Result<bool, String> {
        self.devices_get(device)
            .ok_or_else(|| format!("unknown device {device:#x}"))?
            .fences
            .get(&f)
            .map(|f| f.signaled)
            .ok_or_else(|| format!("unknown fence {f:#x}"))
    }

    /// `vkCreateSemaphore`: `timeline` is the initial value of a timeline semaphore.
    pub(crate) fn create_semaphore(
        &mut self,
        device: u64,
        timeline: Option<u64>,
    ) -> Result<u64, String> {
        let id = self.id();
        self.device_mut(device)?.semaphores.insert(
            id,
            Semaphore {
                timeline: timeline.is_some(),
                value: timeline.unwrap_or(0),
            },
        );
        Ok(id)
    }

    /// `vkDestroySemaphore`.
    pub(crate) fn destroy_semaphore(&mut self, device: u64, s: u64) -> Result<(), String> {
        self.device_mut(device)?
            .semaphores
            .remove(&s)
            .map(|_| ())
            .ok_or_else(|| format!("unknown semaphore {s:#x}"))
    }

    /// A timeline semaphore's counter.
    pub(crate) fn semaphore_value(&self, device: u64, s: u64) -> Result<u64, String> {
        let sem = self
            .devices_get(device)
            .ok_or_else(|| format!("unknown device {device:#x}"))?
            .semaphores
            .get(&s)
            .ok_or_else(|| format!("unknown semaphore {s:#x}"))?;
        if !sem.timeline {
            return Err(format!("semaphore {s:#x} is binary, not a timeline"));
        }
        Ok(sem.value)
    }

    /// `vkSignalSemaphore`: a larger value of a timeline semaphore.
    pub(crate) fn signal_semaphore(
        &mut self,
        device: u64,
        s: u64,
        value: u64,
    ) -> Result<(), String> {
        let sem = self
            .device_mut(device)?
            .semaphores
            .get_mut(&s)
            .ok_or_else(|| format!("unknown semaphore {s:#x}"))?;
        if !sem.timeline {
            return Err(format!("semaphore {s:#x} is binary, not a timeline"));
        }
        if value <= sem.value {
            return Err(format!(
                "value {value} is not above the counter {} (VUID-VkSemaphoreSignalInfo-value-03258)",
                sem.value
            ));
        }
        sem.value = value;
        crate::driver::notify();
        Ok(())
    }

    /// Whether the waits of a batch are satisfied now.
    pub(crate) fn waits_ready(&self, device: u64, waits: &[(u64, u64)]) -> bool {
        let Some(d) = self.devices_get(device) else {
            return true;
        };
        waits.iter().all(|(s, v)| {
            d.semaphores.get(s).is_none_or(|sem| {
                if sem.timeline {
                    sem.value >= *v
                } else {
                    sem.value > 0
                }
            })
        })
    }

    /// The device of a queue, and its family.
    pub(crate) fn queue_info(&self, queue: u64) -> Option<(u64, u32)> {
        self.queues.get(&queue).map(|q| (q.device, q.family))
    }

    /// Runs one batch on `queue` (its waits satisfied): the command buffers' commands in order,
    /// then the signals. The log's words for what ran.
    pub(crate) fn submit_batch(&mut self, queue: u64, batch: &Batch) -> Result<String, String> {
        let (device, family) = self
            .queue_info(queue)
            .ok_or_else(|| format!("unknown queue {queue:#x}"))?;
        for cb in &batch.command_buffers {
            let b = self
                .command_buffers
                .get(cb)
                .ok_or_else(|| format!("unknown command buffer {cb:#x}"))?;
            if b.device != device || b.family != family {
                return Err(format!(
                    "command buffer {cb:#x} was allocated for family {}, the queue is of family {family} (VUID-vkQueueSubmit-pCommandBuffers-00074)",
                    b.family
                ));
            }
            if b.state != State::Executable {
                return Err(format!(
                    "command buffer {cb:#x} is {:?}, not executable",
                    b.state
                ));
            }
        }
        let d = self.device_mut(device)?;
        for (s, v) in &batch.waits {
            let sem = d
                .semaphores
                .get_mut(s)
                .ok_or_else(|| format!("unknown wait semaphore {s:#x}"))?;
            if !sem.timeline {
                if sem.value == 0 {
                    return Err(format!(
                        "binary semaphore {s:#x} waited on but never signalled"
                    ));
                }
                sem.value = 0;
            } else if sem.value < *v {
                return Err(format!(
                    "timeline semaphore {s:#x} at {} waited for {v}",
                    sem.value
                ));
            }
        }
        let mut commands = 0;
        for cb in &batch.command_buffers {
            let Some(b) = self.command_buffers.get_mut(cb) else {
                continue;
            };
            let list = std::mem::take(&mut b.commands);
            let one_time = b.one_time;
            commands += list.len();
            if let Some(d) = self.devices.get_mut(&device) {
                crate::exec::run(d, family, &list);
            }
            if let Some(b) = self.command_buffers.get_mut(cb) {
                b.commands = list;
                if one_time {
                    b.state = State::Invalid;
                }
            }
        }
        let d = self.device_mut(device)?;
        for (s, v) in &batch.signals {
            let sem = d
                .semaphores
                .get_mut(s)
                .ok_or_else(|| format!("unknown signal semaphore {s:#x}"))?;
            if sem.timeline {
                if *v <= sem.value {
                    return Err(format!(
                        "timeline semaphore {s:#x} signalled to {v}, not above its {}",
                        sem.value
                    ));
                }
                sem.value = *v;
            } else {
                sem.value = 1;
            }
        }
        crate::driver::notify();
        Ok(format!(
            "family={family} command_buffers={} commands={commands} waits={} signals={}",
            batch.command_buffers.len(),
            batch.waits.len(),
            batch.signals.len()
        ))
    }

    /// Signals a fence after a submission.
    pub(crate) fn signal_fence(&mut self, device: u64, f: u64) -> Result<(), String> {
        let fence = self
            .device_mut(device)?
            .fences
            .get_mut(&f)
            .ok_or_else(|| format!("unknown fence {f:#x}"))?;
        if fence.signaled {
            return Err(format!(
                "fence {f:#x} is already signaled (VUID-vkQueueSubmit-fence-00063)"
            ));
        }
        fence.signaled = true;
        crate::driver::notify();
        Ok(())
    }
}
