//! `encode --stats`: per-frame statistics as CSV.

use std::path::PathBuf;

/// The `--stats` CSV file: one row per frame out of the session.
pub struct StatsFile {
    path: PathBuf,
    out: std::io::BufWriter<std::fs::File>,
}

impl StatsFile {
    pub fn create(path: &std::path::Path) -> Result<Self, String> {
        use std::io::Write;
        let file = std::fs::File::create(path)
            .map_err(|e| format!("cannot create the stats file {}: {e}", path.display()))?;
        let mut this = Self {
            path: path.to_path_buf(),
            out: std::io::BufWriter::new(file),
        };
        let header = "frame,pts_ns,bytes,keyframe,dropped,encode_latency_us,gpu_us";
        writeln!(this.out, "{header}").map_err(|e| this.error(e))?;
        Ok(this)
    }

    fn error(&self, e: std::io::Error) -> String {
        format!("cannot write the stats file {}: {e}", self.path.display())
    }

    pub fn write(
        &mut self,
        s: &ghoststream::FrameStats,
        bytes: usize,
        keyframe: bool,
    ) -> Result<(), String> {
        use std::io::Write;
        let micros = |ns: i64| format!("{:.1}", ns as f64 / 1000.0);
        let line = format!(
            "{},{},{},{},{},{},{}",
            s.frame_number,
            s.pts.0,
            bytes,
            keyframe as u8,
            s.dropped as u8,
            s.encode_latency()
                .map(|l| micros(l.as_nanos()))
                .unwrap_or_default(),
            s.gpu_time.map(|g| micros(g.as_nanos())).unwrap_or_default(),
        );
        writeln!(self.out, "{line}").map_err(|e| self.error(e))
    }
}

impl StatsFile {
    /// Flushes the rows, reporting a write error (a full disk) instead of losing it.
    pub fn flush(&mut self) -> Result<(), String> {
        use std::io::Write;
        self.out.flush().map_err(|e| self.error(e))
    }
}
