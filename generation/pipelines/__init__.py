"""Pipelines: injected parts (text encoder, UNet, autoencoder, scheduler) run as numbered steps."""

from generation.pipelines.report2ct import Report2CTConfig, Report2CTOutput, Report2CTPipeline

__all__ = ["Report2CTConfig", "Report2CTOutput", "Report2CTPipeline"]
