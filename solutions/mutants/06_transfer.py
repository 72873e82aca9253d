"""Realistic wrong answers to the exercises of 06_transfer; each replaces one solution cell.

The self-test reads only the blocks headed ``# %% mutant``. The imports above them are the
names the chapter's notebook defines before its exercises, so that editors and ruff see them.
"""

import copy
import csv
from pathlib import Path

import torch
from PIL import Image
from torch import nn
from torch.utils.data import Dataset
from torchvision import transforms

from course_lib import pretrained, training
from course_lib.folders import class_index, load_index, split_indices
from course_lib.pretrained import TransferNet


def make_optimizer(model, lr, backbone_lr):  # the notebook's exercise 10, as the library has it
    return torch.optim.Adam(pretrained.param_groups(model, lr, backbone_lr))


# %% mutant ch06_class_index: keeps the file system's order instead of sorting the names
def class_index(root):
    names = [entry.name for entry in Path(root).iterdir() if entry.is_dir()]
    return {name: label for label, name in enumerate(names)}


# %% mutant ch06_class_index: counts every entry, so images.csv becomes a class
def class_index(root):
    names = sorted(entry.name for entry in Path(root).iterdir())
    return {name: label for label, name in enumerate(names)}


# %% mutant ch06_class_index: numbers the classes from 1
def class_index(root):
    names = sorted(entry.name for entry in Path(root).iterdir() if entry.is_dir())
    return {name: label for label, name in enumerate(names, start=1)}


# %% mutant ch06_csv_index: scans the folders on every call, ignoring the CSV it wrote
def load_index(root, class_to_idx, filename="images.csv"):
    root = Path(root)
    rows = []
    for name, label in class_to_idx.items():
        for image in sorted((root / name).iterdir()):
            if image.suffix.lower() in (".png", ".jpg", ".jpeg"):
                rows.append((image.relative_to(root).as_posix(), label))
    with (root / filename).open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    return rows


# %% mutant ch06_csv_index: writes absolute paths, so the index breaks when the folder moves
def load_index(root, class_to_idx, filename="images.csv"):
    root = Path(root)
    index_file = root / filename
    if not index_file.exists():
        with index_file.open("w", newline="") as f:
            writer = csv.writer(f)
            for name, label in class_to_idx.items():
                for image in sorted((root / name).iterdir()):
                    if image.suffix.lower() in (".png", ".jpg", ".jpeg"):
                        writer.writerow([str(image), label])
    with index_file.open(newline="") as f:
        return [(path, int(label)) for path, label in csv.reader(f)]


# %% mutant ch06_csv_index: reads the labels back as strings
def load_index(root, class_to_idx, filename="images.csv"):
    root = Path(root)
    index_file = root / filename
    if not index_file.exists():
        with index_file.open("w", newline="") as f:
            writer = csv.writer(f)
            for name, label in class_to_idx.items():
                for image in sorted((root / name).iterdir()):
                    if image.suffix.lower() in (".png", ".jpg", ".jpeg"):
                        writer.writerow([image.relative_to(root).as_posix(), label])
    with index_file.open(newline="") as f:
        return [tuple(row) for row in csv.reader(f)]


# %% mutant ch06_split: the validation part starts one index early, overlapping train
def split_indices(n, seed=0, fractions=(0.6, 0.2, 0.2)):
    shuffled = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    end_train = int(fractions[0] * n)
    end_val = int((fractions[0] + fractions[1]) * n)
    return {
        "train": shuffled[:end_train],
        "val": shuffled[max(end_train - 1, 0) : end_val],
        "test": shuffled[end_val:],
    }


# %% mutant ch06_split: shuffles with torch's global generator, ignoring the seed
def split_indices(n, seed=0, fractions=(0.6, 0.2, 0.2)):
    shuffled = torch.randperm(n).tolist()
    end_train = int(fractions[0] * n)
    end_val = int((fractions[0] + fractions[1]) * n)
    return {
        "train": shuffled[:end_train],
        "val": shuffled[end_train:end_val],
        "test": shuffled[end_val:],
    }


# %% mutant ch06_split: cuts without shuffling (the test set gets the last classes only)
def split_indices(n, seed=0, fractions=(0.6, 0.2, 0.2)):
    order = list(range(n))
    end_train = int(fractions[0] * n)
    end_val = int((fractions[0] + fractions[1]) * n)
    return {"train": order[:end_train], "val": order[end_train:end_val], "test": order[end_val:]}


# %% mutant ch06_transforms: the evaluation pipeline rotates too
def make_transforms(size, mean, std):
    larger = int(size * 1.25)
    steps = [
        transforms.Resize((larger, larger)),
        transforms.RandomRotation(15),
        transforms.CenterCrop(size),
        transforms.ToTensor(),
        transforms.Normalize(mean, std),
    ]
    return transforms.Compose(steps), transforms.Compose(steps)


# %% mutant ch06_transforms: crops before rotating, so empty corners show in training images
def make_transforms(size, mean, std):
    larger = int(size * 1.25)
    train_tf = transforms.Compose(
        [
            transforms.Resize((larger, larger)),
            transforms.CenterCrop(size),
            transforms.RandomRotation(15),
            transforms.ToTensor(),
            transforms.Normalize(mean, std),
        ]
    )
    eval_tf = transforms.Compose(
        [
            transforms.Resize((larger, larger)),
            transforms.CenterCrop(size),
            transforms.ToTensor(),
            transforms.Normalize(mean, std),
        ]
    )
    return train_tf, eval_tf


# %% mutant ch06_transforms: evaluation resizes straight to size (another framing than training)
def make_transforms(size, mean, std):
    larger = int(size * 1.25)
    train_tf = transforms.Compose(
        [
            transforms.Resize((larger, larger)),
            transforms.RandomRotation(15),
            transforms.CenterCrop(size),
            transforms.ToTensor(),
            transforms.Normalize(mean, std),
        ]
    )
    eval_tf = transforms.Compose(
        [transforms.Resize((size, size)), transforms.ToTensor(), transforms.Normalize(mean, std)]
    )
    return train_tf, eval_tf


# %% mutant ch06_transforms: normalises the PIL image before ToTensor
def make_transforms(size, mean, std):
    larger = int(size * 1.25)
    train_tf = transforms.Compose(
        [
            transforms.Resize((larger, larger)),
            transforms.RandomRotation(15),
            transforms.CenterCrop(size),
            transforms.Normalize(mean, std),
            transforms.ToTensor(),
        ]
    )
    eval_tf = transforms.Compose(
        [
            transforms.Resize((larger, larger)),
            transforms.CenterCrop(size),
            transforms.Normalize(mean, std),
            transforms.ToTensor(),
        ]
    )
    return train_tf, eval_tf


# %% mutant ch06_denormalize: makes mean and std on the default device
def denormalize(x, mean, std):
    m = torch.tensor(mean, dtype=x.dtype).view(-1, 1, 1)
    s = torch.tensor(std, dtype=x.dtype).view(-1, 1, 1)
    return x * s + m


# %% mutant ch06_denormalize: normalises again instead of undoing it
def denormalize(x, mean, std):
    m = torch.tensor(mean, dtype=x.dtype, device=x.device).view(-1, 1, 1)
    s = torch.tensor(std, dtype=x.dtype, device=x.device).view(-1, 1, 1)
    return (x - m) / s


# %% mutant ch06_denormalize: broadcasts mean and std along the width, not the channels
def denormalize(x, mean, std):
    m = torch.tensor(mean, dtype=x.dtype, device=x.device)
    s = torch.tensor(std, dtype=x.dtype, device=x.device)
    return x * s + m


# %% mutant ch06_folder_dataset: forgets .convert("RGB"): grey and transparent PNGs keep 1 or 4 channels
class FolderDataset(Dataset):
    def __init__(self, root, split="train", transform=None, seed=0):
        self.root = Path(root)
        self.transform = transform
        class_to_idx = class_index(self.root)
        self.classes = sorted(class_to_idx, key=class_to_idx.get)
        every = load_index(self.root, class_to_idx)
        self.samples = [every[i] for i in split_indices(len(every), seed)[split]]

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        path, label = self.samples[index]
        image = Image.open(self.root / path)
        return (image if self.transform is None else self.transform(image)), label


# %% mutant ch06_folder_dataset: returns the folder name as the label
class FolderDataset(Dataset):
    def __init__(self, root, split="train", transform=None, seed=0):
        self.root = Path(root)
        self.transform = transform
        class_to_idx = class_index(self.root)
        self.classes = sorted(class_to_idx, key=class_to_idx.get)
        every = load_index(self.root, class_to_idx)
        self.samples = [every[i] for i in split_indices(len(every), seed)[split]]

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        path, _ = self.samples[index]
        with Image.open(self.root / path) as img:
            image = img.convert("RGB")
        return (image if self.transform is None else self.transform(image)), Path(path).parts[0]


# %% mutant ch06_folder_dataset: ignores the split and serves every image
class FolderDataset(Dataset):
    def __init__(self, root, split="train", transform=None, seed=0):
        self.root = Path(root)
        self.transform = transform
        class_to_idx = class_index(self.root)
        self.classes = sorted(class_to_idx, key=class_to_idx.get)
        self.samples = load_index(self.root, class_to_idx)

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        path, label = self.samples[index]
        with Image.open(self.root / path) as img:
            image = img.convert("RGB")
        return (image if self.transform is None else self.transform(image)), label


# %% mutant ch06_best_checkpoint: saves every epoch, so the last weights are reloaded
def fit_best(model, train_loader, val_loader, loss_fn, optimizer, num_epochs, path, device=None):
    best_acc, best_epoch, val_accs = -1.0, -1, []
    for epoch in range(num_epochs):
        training.train_one_epoch(model, train_loader, loss_fn, optimizer, device)
        acc = training.evaluate(model, val_loader, loss_fn, device)["acc"]
        val_accs.append(acc)
        if acc > best_acc:
            best_acc, best_epoch = acc, epoch
        torch.save(model.state_dict(), path)
    where = next(model.parameters()).device
    model.load_state_dict(torch.load(path, map_location=where, weights_only=True))
    return best_epoch, val_accs


# %% mutant ch06_best_checkpoint: saves the best weights but never loads them back
def fit_best(model, train_loader, val_loader, loss_fn, optimizer, num_epochs, path, device=None):
    best_acc, best_epoch, val_accs = -1.0, -1, []
    for epoch in range(num_epochs):
        training.train_one_epoch(model, train_loader, loss_fn, optimizer, device)
        acc = training.evaluate(model, val_loader, loss_fn, device)["acc"]
        val_accs.append(acc)
        if acc > best_acc:
            best_acc, best_epoch = acc, epoch
            torch.save(model.state_dict(), path)
    return best_epoch, val_accs


# %% mutant ch06_best_checkpoint: keeps model.state_dict() in a variable (live references, no copy)
def fit_best(model, train_loader, val_loader, loss_fn, optimizer, num_epochs, path, device=None):
    best_acc, best_epoch, val_accs, best_state = -1.0, -1, [], None
    for epoch in range(num_epochs):
        training.train_one_epoch(model, train_loader, loss_fn, optimizer, device)
        acc = training.evaluate(model, val_loader, loss_fn, device)["acc"]
        val_accs.append(acc)
        if acc > best_acc:
            best_acc, best_epoch, best_state = acc, epoch, model.state_dict()
    torch.save(best_state, path)
    model.load_state_dict(best_state)
    return best_epoch, val_accs


# %% mutant ch06_best_checkpoint: >= keeps the last of equally good epochs
def fit_best(model, train_loader, val_loader, loss_fn, optimizer, num_epochs, path, device=None):
    best_acc, best_epoch, val_accs = -1.0, -1, []
    for epoch in range(num_epochs):
        training.train_one_epoch(model, train_loader, loss_fn, optimizer, device)
        acc = training.evaluate(model, val_loader, loss_fn, device)["acc"]
        val_accs.append(acc)
        if acc >= best_acc:
            best_acc, best_epoch = acc, epoch
            torch.save(model.state_dict(), path)
    where = next(model.parameters()).device
    model.load_state_dict(torch.load(path, map_location=where, weights_only=True))
    return best_epoch, val_accs


# %% mutant ch06_replace_head: builds the new head on the default device
def replace_head(model, num_classes):
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    return model


# %% mutant ch06_replace_head: keeps the old number of outputs
def replace_head(model, num_classes):
    old = model.fc
    model.fc = nn.Linear(
        old.in_features, old.out_features, device=old.weight.device, dtype=old.weight.dtype
    )
    return model


# %% mutant ch06_replace_head: stacks a new layer on the old head instead of replacing it
def replace_head(model, num_classes):
    old = model.fc
    model.fc = nn.Sequential(
        old,
        nn.Linear(old.out_features, num_classes, device=old.weight.device, dtype=old.weight.dtype),
    )
    return model


# %% mutant ch06_freeze: forgets requires_grad_(False): the frozen backbone still gets gradients
class TransferNet(nn.Module):
    def __init__(self, backbone, feature_dim, num_classes, freeze=True):
        super().__init__()
        self.backbone = backbone
        self.fc = nn.Linear(feature_dim, num_classes)
        self.freeze = freeze

    def train(self, mode=True):
        super().train(mode)
        if self.freeze:
            self.backbone.eval()
        return self

    def forward(self, x):
        return self.fc(self.backbone(x))


# %% mutant ch06_freeze: leaves the frozen backbone in train mode: BatchNorm statistics still move
class TransferNet(nn.Module):
    def __init__(self, backbone, feature_dim, num_classes, freeze=True):
        super().__init__()
        self.backbone = backbone
        self.fc = nn.Linear(feature_dim, num_classes)
        if freeze:
            self.backbone.requires_grad_(False)

    def forward(self, x):
        return self.fc(self.backbone(x))


# %% mutant ch06_freeze: freezes the whole model, the new head included
class TransferNet(nn.Module):
    def __init__(self, backbone, feature_dim, num_classes, freeze=True):
        super().__init__()
        self.backbone = backbone
        self.fc = nn.Linear(feature_dim, num_classes)
        self.freeze = freeze
        if freeze:
            self.requires_grad_(False)

    def train(self, mode=True):
        super().train(mode)
        if self.freeze:
            self.backbone.eval()
        return self

    def forward(self, x):
        return self.fc(self.backbone(x))


# %% mutant ch06_param_groups: one learning rate for everything
def make_optimizer(model, lr, backbone_lr):
    return torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)


# %% mutant ch06_param_groups: puts the frozen parameters in the optimizer too
def make_optimizer(model, lr, backbone_lr):
    head = list(model.fc.parameters())
    in_head = {id(p) for p in head}
    rest = [p for p in model.parameters() if id(p) not in in_head]
    return torch.optim.Adam([{"params": rest, "lr": backbone_lr}, {"params": head, "lr": lr}])


# %% mutant ch06_param_groups: swaps the two learning rates
def make_optimizer(model, lr, backbone_lr):
    head = list(model.fc.parameters())
    in_head = {id(p) for p in head}
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in in_head]
    groups = [{"params": rest, "lr": lr}] if rest else []
    groups.append({"params": head, "lr": backbone_lr})
    return torch.optim.Adam(groups)


# %% mutant ch06_contenders: no copies: the three share (and scratch re-initialises) the pre-trained backbone
def transfer_contenders(features, feature_dim, num_classes, lr, backbone_lr):
    contenders = {}
    for name, freeze, body_lr in [
        ("fine-tuned", False, backbone_lr),
        ("frozen", True, lr),
        ("scratch", False, lr),
    ]:
        if name == "scratch":
            for module in features.modules():
                if hasattr(module, "reset_parameters"):
                    module.reset_parameters()
        model = TransferNet(features, feature_dim, num_classes, freeze=freeze)
        contenders[name] = (model, make_optimizer(model, lr, body_lr))
    return contenders


# %% mutant ch06_contenders: "scratch" forgets to re-initialise, so it is pre-trained too
def transfer_contenders(features, feature_dim, num_classes, lr, backbone_lr):
    contenders = {}
    for name, freeze, body_lr in [
        ("scratch", False, lr),
        ("frozen", True, lr),
        ("fine-tuned", False, backbone_lr),
    ]:
        model = TransferNet(copy.deepcopy(features), feature_dim, num_classes, freeze=freeze)
        contenders[name] = (model, make_optimizer(model, lr, body_lr))
    return contenders


# %% mutant ch06_contenders: fine-tunes the backbone at the head's learning rate
def transfer_contenders(features, feature_dim, num_classes, lr, backbone_lr):
    fresh = copy.deepcopy(features)
    for module in fresh.modules():
        if hasattr(module, "reset_parameters"):
            module.reset_parameters()
    contenders = {}
    for name, body, freeze in [
        ("scratch", fresh, False),
        ("frozen", copy.deepcopy(features), True),
        ("fine-tuned", copy.deepcopy(features), False),
    ]:
        model = TransferNet(body, feature_dim, num_classes, freeze=freeze)
        contenders[name] = (model, make_optimizer(model, lr, lr))
    return contenders
