ALTER TABLE `jobs` ADD `claimed_by` text;--> statement-breakpoint
CREATE UNIQUE INDEX `outbox_live_job` ON `outbox` (`job_id`) WHERE "outbox"."status" in ('held', 'pending', 'sent');