CREATE TABLE `identity` (
	`id` integer PRIMARY KEY NOT NULL,
	`cloud_url` text NOT NULL,
	`site_id` text NOT NULL,
	`region_id` text NOT NULL,
	`key_id` text NOT NULL,
	`public_key` text NOT NULL,
	`private_key` text NOT NULL,
	`api_token` text NOT NULL,
	`enrolled_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `jobs` (
	`job_id` text PRIMARY KEY NOT NULL,
	`campaign_id` text NOT NULL,
	`job` text NOT NULL,
	`status` text NOT NULL,
	`failure` text,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `outbox` (
	`report_id` text PRIMARY KEY NOT NULL,
	`job_id` text NOT NULL,
	`report` text NOT NULL,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`last_error` text,
	`created_at` text NOT NULL,
	`sent_at` text
);
--> statement-breakpoint
CREATE TABLE `sent_log` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` text NOT NULL,
	`method` text NOT NULL,
	`url` text NOT NULL,
	`body` text,
	`status` integer
);
