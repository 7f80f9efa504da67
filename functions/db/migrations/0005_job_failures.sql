ALTER TABLE `jobs` ADD `failure` text;--> statement-breakpoint
ALTER TABLE `jobs` ADD `failure_counts` text;--> statement-breakpoint
ALTER TABLE `jobs` ADD `status_at` integer;--> statement-breakpoint
ALTER TABLE `jobs` ADD `attempt` integer DEFAULT 1 NOT NULL;