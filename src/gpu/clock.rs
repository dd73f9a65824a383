//! The GPU's timestamp counter mapped onto `CLOCK_MONOTONIC` through
//! `VK_EXT_calibrated_timestamps`, so that when a frame's GPU pass started and ended can be
//! set beside its capture, submit and packet times.
//!
//! A calibration is one `vkGetCalibratedTimestampsEXT` call that samples the device counter and
//! `CLOCK_MONOTONIC` together; a GPU timestamp then maps as `monotonic + (ticks - device) *
//! period`. The two clocks drift apart slowly, so the calibration is taken again when it is
//! more than a second old. Without the extension (or without both time domains) there is no
//! mapping, and only the pass's duration is known.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use ash::vk;

use crate::time::Timestamp;

/// How long one calibration is used before it is taken again.
const RECALIBRATE: Duration = Duration::from_secs(1);

/// One sample of both clocks.
#[derive(Clone, Copy, Debug)]
struct Calibration {
    device_ticks: u64,
    monotonic_ns: i64,
    taken: Instant,
}

/// A mapping from device timestamps to `CLOCK_MONOTONIC`.
pub(crate) struct GpuClock {
    calibrated: ash::ext::calibrated_timestamps::Device,
    period_ns: f64,
    last: Mutex<Option<Calibration>>,
}

impl std::fmt::Debug for GpuClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuClock")
            .field("period_ns", &self.period_ns)
            .finish_non_exhaustive()
    }
}

/// Whether `physical` can sample both the device counter and `CLOCK_MONOTONIC`.
pub(crate) fn supports_monotonic(
    entry: &ash::Entry,
    instance: &ash::Instance,
    physical: vk::PhysicalDevice,
) -> bool {
    let loader = ash::ext::calibrated_timestamps::Instance::new(entry, instance);
    // SAFETY: a query on a valid physical device; the extension is known to be present (the
    // caller checked the device's extension list).
    let domains = unsafe { loader.get_physical_device_calibrateable_time_domains(physical) }
        .unwrap_or_default();
    domains.contains(&vk::TimeDomainKHR::DEVICE)
        && domains.contains(&vk::TimeDomainKHR::CLOCK_MONOTONIC)
}

impl GpuClock {
    /// A mapping for `device`, which has `VK_EXT_calibrated_timestamps` enabled and both time
    /// domains ([`supports_monotonic`]); `period_ns` is the device's timestamp period.
    pub(crate) fn new(instance: &ash::Instance, device: &ash::Device, period_ns: f64) -> Self {
        Self {
            calibrated: ash::ext::calibrated_timestamps::Device::new(instance, device),
            period_ns,
            last: Mutex::new(None),
        }
    }

    fn calibrate(&self) -> Option<Calibration> {
        let infos = [
            vk::CalibratedTimestampInfoKHR::default().time_domain(vk::TimeDomainKHR::DEVICE),
            vk::CalibratedTimestampInfoKHR::default()
                .time_domain(vk::TimeDomainKHR::CLOCK_MONOTONIC),
        ];
        // SAFETY: the extension is enabled on this device (the constructor's contract) and
        // both domains are calibrateable.
        let (values, _deviation) =
            unsafe { self.calibrated.get_calibrated_timestamps(&infos) }.ok()?;
        Some(Calibration {
            device_ticks: values[0],
            monotonic_ns: i64::try_from(values[1]).ok()?,
            taken: Instant::now(),
        })
    }

    /// The `CLOCK_MONOTONIC` time of device timestamp `ticks`; `None` when the clocks cannot
    /// be sampled.
    pub(crate) fn to_monotonic(&self, ticks: u64) -> Option<Timestamp> {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = last.filter(|c| c.taken.elapsed() < RECALIBRATE);
        let c = match fresh {
            Some(c) => c,
            None => {
                let c = self.calibrate()?;
                *last = Some(c);
                c
            }
        };
        let delta_ticks = i128::from(ticks) - i128::from(c.device_ticks);
        #[expect(
            clippy::cast_possible_truncation,
            reason = "a tick delta since the last calibration (seconds) in ns is far inside i64"
        )]
        let delta_ns = (delta_ticks as f64 * self.period_ns).round() as i64;
        Some(Timestamp::from_nanos(c.monotonic_ns + delta_ns))
    }
}
