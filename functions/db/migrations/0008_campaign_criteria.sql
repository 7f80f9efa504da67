ALTER TABLE `campaigns` ADD `criteria` text;--> statement-breakpoint
ALTER TABLE `campaigns` ADD `criteria_sha256` text;--> statement-breakpoint
ALTER TABLE `campaigns` ADD `criteria_post_hoc` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `campaigns` ADD `criteria_attached_at` integer;