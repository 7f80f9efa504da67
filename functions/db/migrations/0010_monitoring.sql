CREATE TABLE `monitoring_jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`model_id` text NOT NULL,
	`region_id` text NOT NULL,
	`site_id` text NOT NULL,
	`campaign_id` text NOT NULL,
	`period_index` integer NOT NULL,
	`period_start` text NOT NULL,
	`period_end` text NOT NULL,
	`status` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`model_id`) REFERENCES `models`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`region_id`) REFERENCES `regions`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`site_id`) REFERENCES `sites`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`campaign_id`) REFERENCES `campaigns`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `monitoring_jobs_period_idx` ON `monitoring_jobs` (`model_id`,`region_id`,`period_index`,`site_id`);--> statement-breakpoint
CREATE INDEX `monitoring_jobs_site_status_idx` ON `monitoring_jobs` (`site_id`,`status`);--> statement-breakpoint
CREATE TABLE `monitoring_reports` (
	`report_id` text PRIMARY KEY NOT NULL,
	`job_id` text NOT NULL,
	`revision` integer NOT NULL,
	`model_id` text NOT NULL,
	`region_id` text NOT NULL,
	`site_id` text NOT NULL,
	`period_index` integer NOT NULL,
	`report` text NOT NULL,
	`envelope` text NOT NULL,
	`received_at` integer NOT NULL,
	FOREIGN KEY (`job_id`) REFERENCES `monitoring_jobs`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `monitoring_reports_revision_idx` ON `monitoring_reports` (`job_id`,`revision`);--> statement-breakpoint
CREATE INDEX `monitoring_reports_rollout_idx` ON `monitoring_reports` (`model_id`,`region_id`,`site_id`,`period_index`);--> statement-breakpoint
CREATE TABLE `monitoring_settings` (
	`model_id` text NOT NULL,
	`region_id` text NOT NULL,
	`settings` text NOT NULL,
	`campaign_id` text NOT NULL,
	`issued_periods` integer DEFAULT 0 NOT NULL,
	`changed_at` integer NOT NULL,
	PRIMARY KEY(`model_id`, `region_id`),
	FOREIGN KEY (`model_id`) REFERENCES `models`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`region_id`) REFERENCES `regions`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`campaign_id`) REFERENCES `campaigns`(`id`) ON UPDATE no action ON DELETE no action
);
