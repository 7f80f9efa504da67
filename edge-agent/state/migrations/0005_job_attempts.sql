ALTER TABLE `jobs` ADD `failure_counts` text;--> statement-breakpoint
ALTER TABLE `jobs` ADD `attempt` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE `jobs` ADD `status_to_send` text;