//! Query pools: video encode feedback (bitstream offset and bytes written), result status
//! only, and timestamps, each query's values set by the executed commands.

use ash::vk;

use crate::driver::Driver;

/// A query pool.
pub(crate) struct QueryPool {
    pub(crate) kind: vk::QueryType,
    /// The encode feedback values asked for (feedback pools).
    pub(crate) feedback: vk::VideoEncodeFeedbackFlagsKHR,
    pub(crate) queries: Vec<Query>,
}

/// One query's state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Query {
    pub(crate) available: bool,
    /// Feedback: (offset, bytes written, overrides 0/1); timestamps: the time in ns.
    pub(crate) values: Vec<u64>,
    /// A `VkQueryResultStatusKHR` (0, NOT_READY, until a command sets it).
    pub(crate) status: i32,
}

/// What `vkCreateQueryPool` is asked for.
#[derive(Clone, Debug)]
pub(crate) struct QueryPoolRequest {
    pub(crate) kind: vk::QueryType,
    pub(crate) count: u32,
    pub(crate) feedback: Option<vk::VideoEncodeFeedbackFlagsKHR>,
    pub(crate) has_profile: bool,
}

impl Driver {
    /// `vkCreateQueryPool`.
    pub(crate) fn create_query_pool(
        &mut self,
        device: u64,
        r: &QueryPoolRequest,
    ) -> Result<u64, String> {
        let id = self.id();
        let d = self.device_mut(device)?;
        if r.count == 0 {
            return Err("queryCount is 0".into());
        }
        let feedback = match r.kind {
            vk::QueryType::TIMESTAMP => vk::VideoEncodeFeedbackFlagsKHR::empty(),
            vk::QueryType::VIDEO_ENCODE_FEEDBACK_KHR => {
                let Some(f) = r.feedback else {
                    return Err("a VIDEO_ENCODE_FEEDBACK pool without VkQueryPoolVideoEncodeFeedbackCreateInfoKHR in pNext".into());
                };
                if !r.has_profile {
                    return Err("a VIDEO_ENCODE_FEEDBACK pool without a VkVideoProfileInfoKHR in pNext".into());
                }
                let supported = d.table.h264_encode.supported_encode_feedback_flags;
                if f.is_empty() || !supported.contains(f) {
                    return Err(format!(
                        "encodeFeedbackFlags {:#x}: the device supports {:#x}",
                        f.as_raw(),
                        supported.as_raw()
                    ));
                }
                f
            }
            vk::QueryType::RESULT_STATUS_ONLY_KHR => {
                if !r.has_profile {
                    return Err("a RESULT_STATUS_ONLY pool without a VkVideoProfileInfoKHR in pNext".into());
                }
                vk::VideoEncodeFeedbackFlagsKHR::empty()
            }
            k => return Err(format!("queryType {k:?}: the driver has timestamp, encode feedback and result status queries")),
        };
        let count = usize::try_from(r.count).map_err(|e| e.to_string())?;
        d.query_pools.insert(
            id,
            QueryPool {
                kind: r.kind,
                feedback,
                queries: vec![Query::default(); count],
            },
        );
        Ok(id)
    }

    /// `vkDestroyQueryPool`.
    pub(crate) fn destroy_query_pool(&mut self, device: u64, pool: u64) -> Result<(), String> {
        self.device_mut(device)?
            .query_pools
            .remove(&pool)
            .map(|_| ())
            .ok_or_else(|| format!("unknown query pool {pool:#x}"))
    }

    fn pool_range(
        &mut self,
        device: u64,
        pool: u64,
        first: u32,
        count: u32,
    ) -> Result<&mut QueryPool, String> {
        let p = self
            .device_mut(device)?
            .query_pools
            .get_mut(&pool)
            .ok_or_else(|| format!("unknown query pool {pool:#x}"))?;
        let n = p.queries.len();
        if usize::try_from(u64::from(first) + u64::from(count)).map_or(true, |end| end > n) {
            return Err(format!("queries {first}+{count} of a pool of {n}"));
        }
        Ok(p)
    }

    /// `vkResetQueryPool` (host reset).
    pub(crate) fn reset_query_pool(
        &mut self,
        device: u64,
        pool: u64,
        first: u32,
        count: u32,
    ) -> Result<(), String> {
        let p = self.pool_range(device, pool, first, count)?;
        let a = usize::try_from(first).unwrap_or(0);
        let n = usize::try_from(count).unwrap_or(0);
        for q in &mut p.queries[a..a + n] {
            *q = Query::default();
        }
        crate::driver::notify();
        Ok(())
    }

    /// Whether every query of the range is available.
    pub(crate) fn queries_available(&self, device: u64, pool: u64, first: u32, count: u32) -> bool {
        let a = usize::try_from(first).unwrap_or(usize::MAX);
        let n = usize::try_from(count).unwrap_or(0);
        self.devices_get(device)
            .and_then(|d| d.query_pools.get(&pool))
            .and_then(|p| p.queries.get(a..a.saturating_add(n)))
            .is_some_and(|qs| qs.iter().all(|q| q.available))
    }

    /// The results of a range: per query, its elements (values, then the status with
    /// WITH_STATUS) when available, `None` when not.
    pub(crate) fn query_results(
        &mut self,
        device: u64,
        pool: u64,
        first: u32,
        count: u32,
        flags: vk::QueryResultFlags,
    ) -> Result<Vec<Option<Vec<i64>>>, String> {
        let p = self.pool_range(device, pool, first, count)?;
        let with_status = flags.contains(vk::QueryResultFlags::WITH_STATUS_KHR);
        if with_status && flags.contains(vk::QueryResultFlags::WITH_AVAILABILITY) {
            return Err("WITH_STATUS_KHR and WITH_AVAILABILITY together (VUID-vkGetQueryPoolResults-flags-09443)".into());
        }
        if p.kind == vk::QueryType::RESULT_STATUS_ONLY_KHR && !with_status {
            return Err("a RESULT_STATUS_ONLY pool read without WITH_STATUS_KHR (VUID-vkGetQueryPoolResults-queryType-09442)".into());
        }
        let a = usize::try_from(first).unwrap_or(0);
        let n = usize::try_from(count).unwrap_or(0);
        let mut out = Vec::new();
        for q in &p.queries[a..a + n] {
            if !q.available {
                out.push(None);
                continue;
            }
            let mut e: Vec<i64> = Vec::new();
            let v =
                |i: usize| i64::try_from(q.values.get(i).copied().unwrap_or(0)).unwrap_or(i64::MAX);
            match p.kind {
                vk::QueryType::TIMESTAMP => e.push(v(0)),
                vk::QueryType::VIDEO_ENCODE_FEEDBACK_KHR => {
                    if p.feedback
                        .contains(vk::VideoEncodeFeedbackFlagsKHR::BITSTREAM_BUFFER_OFFSET)
                    {
                        e.push(v(0));
                    }
                    if p.feedback
                        .contains(vk::VideoEncodeFeedbackFlagsKHR::BITSTREAM_BYTES_WRITTEN)
                    {
                        e.push(v(1));
                    }
                    if p.feedback
                        .contains(vk::VideoEncodeFeedbackFlagsKHR::BITSTREAM_HAS_OVERRIDES)
                    {
                        e.push(v(2));
                    }
                }
                _ => {}
            }
            if with_status {
                e.push(i64::from(q.status));
            }
            out.push(Some(e));
        }
        Ok(out)
    }

    /// How many values each query of `pool` gives (before availability or status).
    pub(crate) fn query_values(&self, device: u64, pool: u64) -> Option<usize> {
        let p = self.devices_get(device)?.query_pools.get(&pool)?;
        Some(match p.kind {
            vk::QueryType::TIMESTAMP => 1,
            vk::QueryType::VIDEO_ENCODE_FEEDBACK_KHR => {
                usize::try_from(p.feedback.as_raw().count_ones()).unwrap_or(0)
            }
            _ => 0,
        })
    }
}
