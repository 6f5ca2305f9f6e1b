from webapp.core.management.passthrough import PassThroughCommand


class Command(PassThroughCommand):
    help = "Write a procedural chest-phantom data set: CT, frontal/lateral DRRs, reports, labels."
    target = "generation.phantom.__main__:main"
